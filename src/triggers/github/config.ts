import { ConfigFieldError } from '../types.js';
import {
  checkRegex,
  type EventFilter,
  type FilterName,
  filterApplies,
  parseFilter,
  stringList,
  validateFilter,
} from './filters.js';

/**
 * The stored GITHUB configuration. Both shapes of contract.md §2 fold into it at deploy:
 *  - node spec: `repository`, `events`, `branches`, `filter_conditions` (shared by every listed event);
 *  - design/impl: `event_config: {event: filters}` (or a list of names, or that as a JSON string),
 *    `author_filter`, `ignore_bots`, `github_app_installation_id`.
 */
export interface GithubConfig {
  /** owner/repo as written; the index key is its lower-case form. */
  repository: string;
  /** Named in the configuration or resolved at deploy; deliveries must come from this installation. */
  installation_id: number | null;
  installation_source: 'config' | 'installations' | 'api' | null;
  events: Record<string, EventFilter>;
  /** RE2 regex, anchored at the start of the author's login (Python re.match, as the original). */
  author_filter: string | null;
  ignore_bots: boolean;
  include_payload: boolean;
}

const REPO_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
const EVENT_RE = /^[a-z_]{1,64}$/;
const DEFAULT_EVENTS = ['push', 'pull_request'];

function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined || v === null || v === '') return dflt;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new ConfigFieldError(field, 'must be true or false');
}

function installationId(raw: Record<string, unknown>): number | null {
  for (const key of ['github_app_installation_id', 'installation_id']) {
    const v = raw[key];
    if (v === undefined || v === null || v === '' || v === 0) continue;
    const n =
      typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,15}$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n <= 0) throw new ConfigFieldError(key, 'must be a positive integer');
    return n;
  }
  return null;
}

/** event_config as an object, a list of event names, or either written as a JSON string. */
function eventConfig(v: unknown): Record<string, unknown> | undefined {
  let value = v;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === '') return undefined;
    try {
      value = JSON.parse(text);
    } catch {
      value = stringList(text, 'event_config');
    }
  }
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) {
    return Object.fromEntries(stringList(value, 'event_config').map((e) => [e, {}]));
  }
  if (typeof value !== 'object') throw new ConfigFieldError('event_config', 'must be an object or a list');
  return Object.keys(value).length ? (value as Record<string, unknown>) : undefined;
}

export function parseGithubConfig(raw: Record<string, unknown>): GithubConfig {
  const repository = typeof raw.repository === 'string' ? raw.repository.trim() : '';
  if (!REPO_RE.test(repository)) throw new ConfigFieldError('repository', 'is required, as "owner/repo"');

  // event_config wins: nodes built from the spec carry the default `events` even when it is used.
  const perEvent = eventConfig(raw.event_config);
  const source = perEvent ? 'event_config' : 'events';
  const names = perEvent
    ? Object.keys(perEvent)
    : raw.events === undefined || raw.events === null
      ? DEFAULT_EVENTS
      : stringList(raw.events, 'events');
  if (names.length === 0) throw new ConfigFieldError(source, 'needs at least one event');
  const events: Record<string, EventFilter> = {};
  for (const name of names) {
    if (!EVENT_RE.test(name))
      throw new ConfigFieldError(source, `${JSON.stringify(name)} is not a GitHub event name`);
    events[name] = parseFilter(perEvent?.[name], `${source}.${name}`);
  }
  applyShared(raw, events);
  for (const [name, filter] of Object.entries(events)) validateFilter(filter, name, `${source}.${name}`);

  const authorFilter =
    typeof raw.author_filter === 'string' && raw.author_filter.trim() ? raw.author_filter : null;
  if (raw.author_filter !== undefined && raw.author_filter !== null && typeof raw.author_filter !== 'string')
    throw new ConfigFieldError('author_filter', 'must be a regular expression (string)');
  if (authorFilter) checkRegex(authorFilter, 'author_filter');

  const installation = installationId(raw);
  return {
    repository,
    installation_id: installation,
    installation_source: installation === null ? null : 'config',
    events,
    author_filter: authorFilter,
    ignore_bots: bool(raw.ignore_bots, 'ignore_bots', true),
    include_payload: bool(raw.include_payload, 'include_payload', true),
  };
}

/**
 * Spec-shape filters (`branches`, `filter_conditions`) apply to every configured event that can use
 * them and has not set that filter itself. One that no configured event can use is an error, so a
 * typo never silently widens a trigger.
 */
function applyShared(raw: Record<string, unknown>, events: Record<string, EventFilter>): void {
  const shared: { field: string; value: unknown }[] = [];
  if (raw.branches !== undefined && raw.branches !== null)
    shared.push({ field: '', value: { branches: raw.branches } });
  const fc = raw.filter_conditions;
  if (fc !== undefined && fc !== null && fc !== '') {
    if (typeof fc !== 'object' || Array.isArray(fc))
      throw new ConfigFieldError('filter_conditions', 'must be an object of filters');
    shared.push({ field: 'filter_conditions', value: fc });
  }
  for (const { field, value } of shared) {
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      const parsed = parseFilter({ [key]: v }, field);
      const names = Object.keys(parsed) as FilterName[];
      let used = names.length === 0;
      for (const [event, filter] of Object.entries(events)) {
        for (const name of names) {
          if (!filterApplies(name, event)) continue;
          used = true;
          if (!familySet(filter, name)) (filter as Record<string, unknown>)[name] = parsed[name];
        }
      }
      if (!used)
        throw new ConfigFieldError(
          field ? `${field}.${key}` : key,
          `none of the events (${Object.keys(events).join(', ')}) can use it`,
        );
    }
  }
}

/** A filter counts as set when it or its _ignore twin is (GitHub forbids having both). */
function familySet(f: EventFilter, name: FilterName): boolean {
  const base = name.replace(/_ignore$/, '') as FilterName;
  return f[base] !== undefined || f[`${base}_ignore` as FilterName] !== undefined;
}
