/**
 * The correlation contract, the same for every trigger kind: a wait's `match` maps dotted paths into the
 * event's trigger_data to expected scalars. Every entry must hold. A path that runs through an array holds
 * when any element holds, so `actions.action_id` finds a Slack button among several actions and `labels`
 * finds one label in a list.
 */
export type MatchValue = string | number | boolean;
export type Match = Record<string, MatchValue>;

export const MATCH_LIMITS = { entries: 16, pathLength: 256, depth: 16, valueLength: 1024 } as const;

// Work bound per evaluation: a huge array in a payload must not stall the dispatcher.
const MAX_VISITS = 20_000;

const SEGMENT = /^[^.\s]+$/;

/** Validates a match from the API; returns the offending field and why, or undefined when usable. */
export function matchProblem(raw: unknown): { field: string; message: string } | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    return { field: 'match', message: 'must be an object of dotted path -> expected value' };
  const entries = Object.entries(raw);
  if (entries.length === 0)
    return { field: 'match', message: 'must name at least one path (an empty match would take any event)' };
  if (entries.length > MATCH_LIMITS.entries)
    return { field: 'match', message: `may hold at most ${MATCH_LIMITS.entries} paths` };
  for (const [path, value] of entries) {
    const field = `match.${path}`;
    const segments = path.split('.');
    if (
      path.length > MATCH_LIMITS.pathLength ||
      segments.length > MATCH_LIMITS.depth ||
      !segments.every((s) => SEGMENT.test(s))
    ) {
      return {
        field,
        message: `${JSON.stringify(path)} is not a dotted path (non-empty segments without spaces, at most ${MATCH_LIMITS.depth} deep and ${MATCH_LIMITS.pathLength} characters)`,
      };
    }
    if (typeof value === 'string') {
      if (value.length > MATCH_LIMITS.valueLength)
        return { field, message: `must be at most ${MATCH_LIMITS.valueLength} characters` };
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { field, message: 'must be a finite number' };
    } else if (typeof value !== 'boolean') {
      return { field, message: 'must be a string, number or boolean' };
    }
  }
  return undefined;
}

/** True when every entry of the match holds in the data. */
export function matches(match: Match, data: unknown): boolean {
  const budget = { left: MAX_VISITS };
  for (const [path, expected] of Object.entries(match)) {
    if (!holds(data, path.split('.'), 0, expected, budget)) return false;
  }
  return true;
}

function holds(
  node: unknown,
  segments: string[],
  i: number,
  expected: MatchValue,
  budget: { left: number },
): boolean {
  if (--budget.left < 0) return false;
  if (Array.isArray(node)) return node.some((el) => holds(el, segments, i, expected, budget));
  if (i === segments.length) return scalarEquals(expected, node);
  if (node === null || typeof node !== 'object') return false;
  const key = segments[i]!;
  if (!Object.hasOwn(node, key)) return false;
  return holds((node as Record<string, unknown>)[key], segments, i + 1, expected, budget);
}

/**
 * Equal JSON scalars, or a string and a number/boolean with the same text: headers and query parameters
 * always arrive as strings, so `{"headers.x-ticket": 42}` matches the header `x-ticket: 42`.
 */
export function scalarEquals(expected: MatchValue, actual: unknown): boolean {
  if (actual === expected) return true;
  if (typeof expected === 'string') {
    return (typeof actual === 'number' || typeof actual === 'boolean') && String(actual) === expected;
  }
  return typeof actual === 'string' && actual === String(expected);
}
