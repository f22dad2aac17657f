import { RE2JS } from 're2js';

/**
 * GitHub Actions filter patterns ("Filter pattern cheat sheet", protocols.md §2), translated to RE2 so
 * matching is linear whatever the pattern:
 *   `*`  any run of characters except `/`      `**` any run of characters (`**` + `/` may be empty)
 *   `?`  zero or one of the preceding character `+`  one or more of the preceding character
 *   `[]` one letter or digit, listed or in a range a-z, A-Z, 0-9
 *   `\`  escapes the next character              `!`  negates, only as the first character
 * `?` or `+` with nothing before it is a literal (as in GitHub's examples, `+` in branch names needs `\`).
 */
export class GlobError extends Error {
  override name = 'GlobError';
}

export interface FilterPattern {
  readonly pattern: string;
  readonly negative: boolean;
  readonly re: RE2JS;
}

interface Atom {
  src: string;
  quantified: boolean;
}

const REGEX_META = /[\\^$.|?*+()[\]{}]/;

function literal(ch: string): string {
  return REGEX_META.test(ch) ? `\\${ch}` : ch;
}

const CLASS_RANGES: [string, string][] = [
  ['a', 'z'],
  ['A', 'Z'],
  ['0', '9'],
];

function isAlnum(ch: string): boolean {
  return CLASS_RANGES.some(([lo, hi]) => ch >= lo && ch <= hi);
}

/** Reads `[...]` starting at pattern[start] === '['; returns the class and the index after `]`. */
function readClass(glob: string, start: number): { src: string; next: number } {
  let i = start + 1;
  let body = '';
  while (i < glob.length && glob[i] !== ']') {
    const ch = glob[i]!;
    if (glob[i + 1] === '-' && glob[i + 2] !== undefined && glob[i + 2] !== ']') {
      const hi = glob[i + 2]!;
      const ok = CLASS_RANGES.some(([a, b]) => ch >= a && ch <= b && hi >= a && hi <= b && ch <= hi);
      if (!ok) throw new GlobError(`range ${ch}-${hi} is not within a-z, A-Z or 0-9`);
      body += `${ch}-${hi}`;
      i += 3;
      continue;
    }
    if (!isAlnum(ch)) throw new GlobError(`[ ] may hold only letters, digits and ranges (found ${ch})`);
    body += ch;
    i++;
  }
  if (i >= glob.length) throw new GlobError('[ without a closing ]');
  if (body === '') throw new GlobError('empty [ ]');
  return { src: `[${body}]`, next: i + 1 };
}

/** The RE2 source (anchored by testExact) for one glob without its leading `!`. */
export function globToRegex(glob: string): string {
  if (glob === '') throw new GlobError('empty pattern');
  const atoms: Atom[] = [];
  let i = 0;
  while (i < glob.length) {
    const ch = glob[i]!;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        if (glob[i + 2] === '/') {
          atoms.push({ src: '(?:.+/)?', quantified: true });
          i += 3;
        } else {
          atoms.push({ src: '.*', quantified: true });
          i += 2;
        }
      } else {
        atoms.push({ src: '[^/]*', quantified: true });
        i++;
      }
    } else if (ch === '?' || ch === '+') {
      const prev = atoms[atoms.length - 1];
      if (!prev) atoms.push({ src: literal(ch), quantified: false });
      else {
        // A quantifier on an already quantified atom (`*+`, `a?+`) applies to the whole of it.
        const base = prev.quantified ? `(?:${prev.src})` : prev.src;
        atoms[atoms.length - 1] = { src: `${base}${ch}`, quantified: true };
      }
      i++;
    } else if (ch === '[') {
      const c = readClass(glob, i);
      atoms.push({ src: c.src, quantified: false });
      i = c.next;
    } else if (ch === '\\') {
      const next = glob[i + 1];
      if (next === undefined) throw new GlobError('\\ at the end escapes nothing');
      atoms.push({ src: literal(next), quantified: false });
      i += 2;
    } else {
      // Characters outside the BMP are one atom, so `?` after an emoji applies to all of it.
      const cp = String.fromCodePoint(glob.codePointAt(i)!);
      atoms.push({ src: cp.length > 1 ? `(?:${cp})` : literal(cp), quantified: false });
      i += cp.length;
    }
  }
  return atoms.map((a) => a.src).join('');
}

export function compilePattern(raw: string): FilterPattern {
  const negative = raw.startsWith('!');
  const body = negative ? raw.slice(1) : raw;
  const source = globToRegex(body);
  // DOTALL: file names may contain newlines; `.` must still match them.
  return { pattern: raw, negative, re: RE2JS.compile(source, RE2JS.DOTALL) };
}

/**
 * Validates a list at deploy: every pattern compiles, and a list using `!` has a positive pattern
 * (GitHub rejects a list of exclusions only). Returns a message naming the first problem.
 */
export function checkPatternList(list: readonly string[]): string | undefined {
  for (const [i, p] of list.entries()) {
    try {
      compilePattern(p);
    } catch (err) {
      return `[${i}] ${JSON.stringify(p)}: ${(err as Error).message}`;
    }
  }
  if (list.length > 0 && list.every((p) => p.startsWith('!')))
    return 'a list with ! patterns needs at least one positive pattern';
  return undefined;
}

const cache = new Map<string, FilterPattern>();
const CACHE_MAX = 10_000;

/** Compiled patterns are shared by every trigger that uses the same text. */
export function cachedPattern(raw: string): FilterPattern {
  let p = cache.get(raw);
  if (!p) {
    p = compilePattern(raw);
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(raw, p);
  }
  return p;
}

/**
 * Ordered evaluation: the last pattern that matches decides (`!` excludes, a later positive pattern
 * re-includes). Returns the deciding pattern, or undefined when none matched.
 */
export function lastMatch(list: readonly string[], value: string): FilterPattern | undefined {
  let decided: FilterPattern | undefined;
  for (const raw of list) {
    const p = cachedPattern(raw);
    if (p.re.testExact(value)) decided = p;
  }
  return decided;
}

/** True when `value` is selected by the list under GitHub's ordering rule. */
export function selects(list: readonly string[], value: string): boolean {
  const d = lastMatch(list, value);
  return d !== undefined && !d.negative;
}
