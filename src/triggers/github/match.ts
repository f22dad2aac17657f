import type { InboundEvent, MatchDecision } from '../types.js';
import type { GithubConfig } from './config.js';
import { metaOf, obj, str } from './event.js';
import { DEFAULT_ACTIONS, type EventFilter, PULL_REQUEST_EVENTS } from './filters.js';
import { lastMatch } from './glob.js';
import { authorOf, itemRules, regex } from './items.js';

type Obj = Record<string, unknown>;

export interface Ctx {
  config: GithubConfig;
  filter: EventFilter;
  type: string;
  data: Obj;
  raw: Obj;
  event: InboundEvent;
}

/**
 * Phase two of routing for GITHUB, with GitHub Actions' `on:` semantics (protocols.md §2). Pure: the
 * changed files were put in the event before it reached here. A non-match names the first rule that
 * decided, which is what explain and the event's routing record show.
 */
export function matchGithub(config: GithubConfig, event: InboundEvent): MatchDecision {
  const reason = decide(config, event, false);
  if (reason !== undefined) return { matched: false, reason };
  return config.include_payload ? { matched: true } : { matched: true, triggerData: { payload: null } };
}

/** True when only the changed files are missing to decide: fetch them for this trigger. */
export function needsChangedFiles(config: GithubConfig, event: InboundEvent): boolean {
  const type = str(event.payload.event_type) ?? '';
  const f = config.events[type];
  return Boolean(f && (f.paths || f.paths_ignore)) && decide(config, event, true) === undefined;
}

function decide(config: GithubConfig, event: InboundEvent, skipPaths: boolean): string | undefined {
  const data = event.payload;
  const type = str(data.event_type) ?? '';
  const filter = config.events[type];
  if (!filter) return `event: ${type} is not one of ${Object.keys(config.events).join(', ')}`;
  const ctx: Ctx = { config, filter, type, data, raw: obj(data.payload) ?? {}, event };
  const repo = str(obj(data.repository)?.full_name);
  if (repo?.toLowerCase() !== config.repository.toLowerCase())
    return `repository: ${repo ?? '(none)'} is not ${config.repository}`;
  const installation = data.installation_id ?? null;
  if (config.installation_id !== null && installation !== config.installation_id)
    return `installation: ${installation ?? '(none)'} is not the trigger's installation ${config.installation_id}`;
  const sender = obj(data.sender);
  const login = str(sender?.login) ?? '';
  if (config.ignore_bots && (sender?.type === 'Bot' || login.toLowerCase().endsWith('[bot]')))
    return `ignore_bots: sender ${login} is a bot`;
  if (config.author_filter) {
    const author = authorOf(type, ctx.raw);
    if (!author) return 'author_filter: the event names no author';
    if (!regex(`^(?:${config.author_filter})`).test(author))
      return `author_filter: ${author} does not match ${config.author_filter}`;
  }
  const actions = filter.actions ?? DEFAULT_ACTIONS[type];
  const action = str(data.action);
  if (actions && !actions.includes(action ?? ''))
    return `actions: ${action ?? '(none)'} is not one of ${actions.join(', ')}${filter.actions ? '' : " (GitHub's default)"}`;
  return (type === 'push' ? pushRules(ctx, skipPaths) : refRules(ctx, skipPaths)) ?? itemRules(ctx);
}

function pushRules(ctx: Ctx, skipPaths: boolean): string | undefined {
  const { filter: f, raw } = ctx;
  const ref = str(raw.ref) ?? '';
  if (raw.deleted === true) return `push: ${ref} was deleted (GitHub Actions runs nothing for a deletion)`;
  const hasBranch = Boolean(f.branches || f.branches_ignore);
  const hasTag = Boolean(f.tags || f.tags_ignore);
  if (ref.startsWith('refs/heads/')) {
    const branch = ref.slice('refs/heads/'.length);
    if (!hasBranch && hasTag) return `tags: branch push (${branch}) and only tag filters are set`;
    return (
      listRule('branches', f.branches, f.branches_ignore, branch) ?? (skipPaths ? undefined : pathRule(ctx))
    );
  }
  if (ref.startsWith('refs/tags/')) {
    const tag = ref.slice('refs/tags/'.length);
    if (!hasTag && hasBranch) return `branches: tag push (${tag}) and only branch filters are set`;
    // Path filters are not evaluated for tag pushes.
    return listRule('tags', f.tags, f.tags_ignore, tag);
  }
  if (hasBranch || hasTag) return `branches: ${ref} is neither a branch nor a tag`;
  return undefined;
}

function refRules(ctx: Ctx, skipPaths: boolean): string | undefined {
  const { filter: f, raw, type } = ctx;
  if (f.branches || f.branches_ignore) {
    const branch =
      type === 'workflow_run'
        ? str(obj(raw.workflow_run)?.head_branch)
        : str(obj(obj(raw.pull_request)?.base)?.ref);
    if (branch === null) return 'branches: the event names no branch';
    const r = listRule('branches', f.branches, f.branches_ignore, branch);
    if (r) return r;
  }
  return PULL_REQUEST_EVENTS.has(type) && !skipPaths ? pathRule(ctx) : undefined;
}

/** `x` selects by GitHub's ordering rule; `x_ignore` excludes what it selects. */
function listRule(
  name: string,
  include: string[] | undefined,
  ignore: string[] | undefined,
  value: string,
): string | undefined {
  if (include) {
    const d = lastMatch(include, value);
    if (!d) return `${name}: ${value} matches none of ${include.join(', ')}`;
    if (d.negative) return `${name}: ${value} is excluded by ${d.pattern}`;
  }
  if (ignore) {
    const d = lastMatch(ignore, value);
    if (d && !d.negative) return `${name}_ignore: ${value} matches ${d.pattern}`;
  }
  return undefined;
}

function pathRule(ctx: Ctx): string | undefined {
  const { paths, paths_ignore: ignore } = ctx.filter;
  if (!paths && !ignore) return undefined;
  const note = metaOf(ctx.event)?.changed_files;
  if (note?.always_run) return undefined;
  const files = ctx.data.changed_files;
  if (!Array.isArray(files)) {
    const why = note?.error ? `${note.error_code ?? 'error'}: ${note.error}` : 'not computed';
    return `paths: changed files unavailable (${why}); the path filter fails closed`;
  }
  if (files.length === 0) return 'paths: no changed files';
  if (paths) {
    for (const file of files as string[]) {
      const d = lastMatch(paths, file);
      if (d && !d.negative) return undefined;
    }
    return `paths: none of ${files.length} changed file(s) matches ${paths.join(', ')}`;
  }
  for (const file of files as string[]) {
    const d = lastMatch(ignore!, file);
    if (!d || d.negative) return undefined;
  }
  return `paths_ignore: all ${files.length} changed file(s) match ${ignore!.join(', ')}`;
}
