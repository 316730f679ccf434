/**
 * A small TOML reader for lock files (poetry.lock, uv.lock, Cargo.lock): tables, arrays of
 * tables, dotted keys, basic/literal/multi-line strings, numbers, booleans, dates (as strings),
 * arrays and inline tables. Throws on syntax errors; bounded nesting.
 */
type Value = string | number | boolean | Value[] | Table;
interface Table {
  [k: string]: Value;
}

const MAX_DEPTH = 32;

export function parse(src: string): Table {
  const root: Table = {};
  let cur: Table = root;
  let i = 0;
  const n = src.length;
  const err = (m: string): never => {
    const line = src.slice(0, i).split('\n').length;
    throw new Error(`${m} at line ${line}`);
  };
  const ws = () => {
    while (i < n && (src[i] === ' ' || src[i] === '\t')) i++;
  };
  const wsnl = () => {
    for (;;) {
      while (i < n && /[ \t\r\n]/.test(src[i]!)) i++;
      if (src[i] === '#') while (i < n && src[i] !== '\n') i++;
      else break;
    }
  };
  const eol = () => {
    ws();
    if (src[i] === '#') while (i < n && src[i] !== '\n') i++;
    if (src[i] === '\r') i++;
    if (i < n && src[i] !== '\n') err('expected end of line');
    i++;
  };
  const str = (): string => {
    if (src.startsWith('"""', i) || src.startsWith("'''", i)) {
      const q = src.slice(i, i + 3);
      i += 3;
      if (src[i] === '\n') i++;
      else if (src.startsWith('\r\n', i)) i += 2;
      const end = src.indexOf(q, i);
      if (end < 0) err('unterminated string');
      let e = end;
      while (src[e + 3] === q[0] && e + 3 < n) e++;
      const raw = src.slice(i, e);
      i = e + 3;
      return q === '"""' ? unescape(raw.replace(/\\\r?\n\s*/g, '')) : raw;
    }
    const q = src[i];
    i++;
    let out = '';
    while (i < n && src[i] !== q) {
      if (src[i] === '\n') err('newline in string');
      if (q === '"' && src[i] === '\\') {
        out += src.slice(i, i + 2);
        if (src[i + 1] === 'u') out += src.slice(i + 2, i + 6), (i += 4);
        else if (src[i + 1] === 'U') out += src.slice(i + 2, i + 10), (i += 8);
        i += 2;
      } else out += src[i++];
    }
    if (i >= n) err('unterminated string');
    i++;
    return q === '"' ? unescape(out) : out;
  };
  const unescape = (s: string) =>
    s.replace(/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/g, (_, c: string) => {
      if (c[0] === 'u' || c[0] === 'U') return String.fromCodePoint(parseInt(c.slice(1), 16));
      return ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '"': '"', '\\': '\\', e: '\x1b' } as Record<string, string>)[c] ?? c;
    });
  const key = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      ws();
      if (src[i] === '"' || src[i] === "'") parts.push(str());
      else {
        const m = /^[A-Za-z0-9_-]+/.exec(src.slice(i, i + 256));
        if (!m) err('expected a key');
        parts.push(m![0]);
        i += m![0].length;
      }
      ws();
      if (src[i] === '.') i++;
      else return parts;
    }
  };
  const value = (depth: number): Value => {
    if (depth > MAX_DEPTH) err('nested too deeply');
    const c = src[i];
    if (c === '"' || c === "'") return str();
    if (c === '[') {
      i++;
      const arr: Value[] = [];
      for (;;) {
        wsnl();
        if (src[i] === ']') {
          i++;
          return arr;
        }
        arr.push(value(depth + 1));
        wsnl();
        if (src[i] === ',') i++;
        else if (src[i] !== ']') err('expected , or ]');
      }
    }
    if (c === '{') {
      i++;
      const t: Table = {};
      ws();
      if (src[i] === '}') {
        i++;
        return t;
      }
      for (;;) {
        const k = key();
        if (src[i] !== '=') err('expected =');
        i++;
        ws();
        setPath(t, k, value(depth + 1));
        ws();
        if (src[i] === ',') i++;
        else if (src[i] === '}') {
          i++;
          return t;
        } else err('expected , or }');
      }
    }
    const m = /^[^\s,\]}#]+(?: [0-9:.+Z-]+)?/.exec(src.slice(i, i + 128));
    if (!m) err('expected a value');
    const raw = m![0];
    i += raw.length;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    if (/^[+-]?(\d[\d_]*)(\.\d[\d_]*)?([eE][+-]?\d+)?$/.test(raw)) return Number(raw.replace(/_/g, ''));
    return raw; // dates, times, inf, nan, hex: kept as text
  };
  const setPath = (t: Table, k: string[], v: Value) => {
    let o = t;
    for (const p of k.slice(0, -1)) {
      const x = o[p];
      if (x === undefined) o = (o[p] = {}) as Table;
      else if (typeof x === 'object' && !Array.isArray(x)) o = x;
      else err(`key ${p} is not a table`);
    }
    o[k[k.length - 1]!] = v;
  };
  const tableAt = (k: string[], array: boolean): Table => {
    let o = root;
    for (let j = 0; j < k.length; j++) {
      const p = k[j]!;
      const last = j === k.length - 1;
      let x = o[p];
      if (last && array) {
        if (x === undefined) x = o[p] = [];
        if (!Array.isArray(x)) err(`${p} is not an array of tables`);
        const t: Table = {};
        (x as Value[]).push(t);
        return t;
      }
      if (x === undefined) x = o[p] = {};
      if (Array.isArray(x)) x = x[x.length - 1] as Value;
      if (typeof x !== 'object' || x === null || Array.isArray(x)) err(`${p} is not a table`);
      o = x as Table;
    }
    return o;
  };
  while (i < n) {
    wsnl();
    if (i >= n) break;
    if (src[i] === '[') {
      const array = src[i + 1] === '[';
      i += array ? 2 : 1;
      const k = key();
      if (src[i] !== ']' || (array && src[i + 1] !== ']')) err('expected ]');
      i += array ? 2 : 1;
      cur = tableAt(k, array);
      eol();
      continue;
    }
    const k = key();
    if (src[i] !== '=') err('expected =');
    i++;
    ws();
    setPath(cur, k, value(0));
    eol();
  }
  return root;
}
