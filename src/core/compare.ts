/**
 * Orders strings by UTF-16 code units. Output that is sorted must sort the same on every machine:
 * localeCompare follows the process's locale (LANG; in Danish "aa" sorts after "z") and loads
 * ICU's collation data on first use.
 */
export function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
