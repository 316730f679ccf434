/** The shape of one option declaration (src/cli/options.ts and its per-area parts). */
export type OptionKind = 'string' | 'bool' | 'int' | 'bytes' | 'list';

export interface OptionDecl {
  /** config-file key and the property name in resolved values */
  key: string;
  flags: string;
  env?: string;
  kind: OptionKind;
  default?: string | number | boolean | string[];
  help: string;
  choices?: readonly string[];
  /** hidden from --help (secrets that should come from env) */
  hidden?: boolean;
  /** smallest accepted value of an int option */
  min?: number;
  /** a list whose values may contain commas (key=value annotations): never split on them */
  noSplit?: boolean;
}

/** Declares one option (the record of declarations keeps its keys as OptionKey). */
export const d = (o: OptionDecl): OptionDecl => o;
