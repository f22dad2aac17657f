import { RE2JS } from 're2js';
import { ConfigFieldError } from '../types.js';
import { checkPatternList } from './glob.js';

/** One event's filters in the stored (normalised) form. Absent = no filter of that kind. */
export interface EventFilter {
  actions?: string[];
  branches?: string[];
  branches_ignore?: string[];
  tags?: string[];
  tags_ignore?: string[];
  paths?: string[];
  paths_ignore?: string[];
  labels?: string[];
  /** true: drafts only; false: no drafts. */
  draft?: boolean;
  authors?: string[];
  states?: string[];
  workflows?: string[];
  conclusions?: string[];
  ref_types?: string[];
}

export type FilterName = keyof EventFilter;

export const PULL_REQUEST_EVENTS = new Set(['pull_request', 'pull_request_target']);
const PR_CARRYING = new Set([
  ...PULL_REQUEST_EVENTS,
  'pull_request_review',
  'pull_request_review_comment',
  'pull_request_review_thread',
]);

/** GitHub Actions' default activity types where it has them (other events: every action). */
export const DEFAULT_ACTIONS: Record<string, string[]> = {
  pull_request: ['opened', 'synchronize', 'reopened'],
  pull_request_target: ['opened', 'synchronize', 'reopened'],
};

/** Events whose payload has no top-level `action`. */
const NO_ACTION_EVENTS = new Set([
  'push',
  'create',
  'delete',
  'fork',
  'gollum',
  'page_build',
  'public',
  'status',
  'ping',
  'workflow_dispatch',
  'team_add',
]);

/** Which events carry what a filter reads; a filter on any other event is a deploy error. */
const APPLIES: Record<FilterName, (event: string) => boolean> = {
  actions: (e) => !NO_ACTION_EVENTS.has(e),
  authors: () => true,
  branches: (e) => e === 'push' || PR_CARRYING.has(e) || e === 'workflow_run',
  branches_ignore: (e) => APPLIES.branches(e),
  tags: (e) => e === 'push',
  tags_ignore: (e) => e === 'push',
  paths: (e) => e === 'push' || PULL_REQUEST_EVENTS.has(e),
  paths_ignore: (e) => APPLIES.paths(e),
  labels: (e) => e === 'issues' || e === 'issue_comment' || PR_CARRYING.has(e),
  draft: (e) => PR_CARRYING.has(e),
  states: (e) => e === 'pull_request_review',
  workflows: (e) => e === 'workflow_run',
  conclusions: (e) => ['workflow_run', 'workflow_job', 'check_run', 'check_suite'].includes(e),
  ref_types: (e) => e === 'create' || e === 'delete',
};

export function filterApplies(name: FilterName, event: string): boolean {
  return APPLIES[name](event);
}

/** Key spellings accepted in configurations (GitHub's own hyphenated ones included) → stored name. */
const ALIASES: Record<string, FilterName | 'draft_handling'> = {
  actions: 'actions',
  action: 'actions',
  types: 'actions',
  branches: 'branches',
  branches_ignore: 'branches_ignore',
  'branches-ignore': 'branches_ignore',
  tags: 'tags',
  tags_ignore: 'tags_ignore',
  'tags-ignore': 'tags_ignore',
  paths: 'paths',
  paths_ignore: 'paths_ignore',
  'paths-ignore': 'paths_ignore',
  labels: 'labels',
  draft: 'draft',
  draft_handling: 'draft_handling',
  authors: 'authors',
  states: 'states',
  workflows: 'workflows',
  conclusions: 'conclusions',
  ref_types: 'ref_types',
};

const PATTERN_LISTS: ('branches' | 'branches_ignore' | 'tags' | 'tags_ignore' | 'paths' | 'paths_ignore')[] =
  ['branches', 'branches_ignore', 'tags', 'tags_ignore', 'paths', 'paths_ignore'];

/** A list given as an array, or as one string (comma-separated). */
export function stringList(v: unknown, field: string): string[] {
  const items = typeof v === 'string' ? v.split(',') : v;
  if (!Array.isArray(items) || items.some((x) => typeof x !== 'string'))
    throw new ConfigFieldError(field, 'must be a list of strings');
  const out = (items as string[]).map((x) => x.trim()).filter((x) => x !== '');
  if (out.some((x) => x.length > 512))
    throw new ConfigFieldError(field, 'entries are limited to 512 characters');
  if (out.length > 500) throw new ConfigFieldError(field, 'at most 500 entries');
  return out;
}

/** Compiles a regular expression on the linear-time engine, or explains why it cannot be used. */
export function checkRegex(source: string, field: string): void {
  try {
    RE2JS.compile(source);
  } catch (err) {
    throw new ConfigFieldError(
      field,
      `${JSON.stringify(source)} is not a usable regular expression (RE2 syntax: no look-around or back-references): ${(err as Error).message}`,
    );
  }
}

/** A dotted field path under an optional prefix. */
function at(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

/** Reads raw filters (design shape) into the stored form, checking values; `field` prefixes errors. */
export function parseFilter(raw: unknown, field: string): EventFilter {
  if (raw === null || raw === undefined || raw === true) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigFieldError(field, 'must be an object of filters');
  const out: EventFilter = {};
  for (const [key, value] of Object.entries(raw)) {
    const name = ALIASES[key];
    const f = at(field, key);
    if (!name) throw new ConfigFieldError(f, `unknown filter; known: ${Object.keys(ALIASES).join(', ')}`);
    if (value === null || value === undefined || value === '') continue;
    if (name === 'draft_handling') {
      if (value === 'include') continue;
      if (value !== 'ignore' && value !== 'only')
        throw new ConfigFieldError(f, 'must be include, ignore or only');
      setOnce(out, 'draft', value === 'only', f);
    } else if (name === 'draft') {
      if (typeof value !== 'boolean')
        throw new ConfigFieldError(f, 'must be true (drafts only) or false (no drafts)');
      setOnce(out, 'draft', value, f);
    } else {
      const list = stringList(value, f);
      if (list.length === 0) continue;
      const prev = out[name] as string[] | undefined;
      (out as Record<string, string[]>)[name] = prev ? [...prev, ...list] : list;
    }
  }
  checkValues(out, field);
  return out;
}

function setOnce(out: EventFilter, name: 'draft', value: boolean, field: string): void {
  if (out.draft !== undefined && out.draft !== value)
    throw new ConfigFieldError(field, 'draft and draft_handling disagree');
  out[name] = value;
}

/** GitHub's own rules for one event, plus what this service can evaluate for it. */
export function validateFilter(f: EventFilter, event: string, field: string): void {
  for (const name of Object.keys(f) as FilterName[]) {
    if (!filterApplies(name, event))
      throw new ConfigFieldError(at(field, name), `${event} events carry nothing the ${name} filter reads`);
  }
  for (const base of ['branches', 'tags', 'paths'] as const) {
    if (f[base] && f[`${base}_ignore`])
      throw new ConfigFieldError(
        at(field, `${base}_ignore`),
        `${base} and ${base}_ignore cannot both be set for one event; use ${base} with ! patterns`,
      );
  }
}

/** Patterns compile (globs and RE2 regexes); review states compare in lower case. */
function checkValues(f: EventFilter, field: string): void {
  for (const name of PATTERN_LISTS) {
    const list = f[name];
    const problem = list ? checkPatternList(list) : undefined;
    if (problem) throw new ConfigFieldError(at(field, name), problem);
  }
  for (const [i, a] of (f.authors ?? []).entries()) checkRegex(a, at(field, `authors.${i}`));
  if (f.states) f.states = f.states.map((s) => s.toLowerCase());
}
