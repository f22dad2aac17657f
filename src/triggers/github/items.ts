import { RE2JS } from 're2js';
import { obj, str } from './event.js';
import type { Ctx } from './match.js';

type Obj = Record<string, unknown>;

/** Filters on the issue, pull request, review or run the event is about. */
export function itemRules(ctx: Ctx): string | undefined {
  const { filter: f, raw, type } = ctx;
  const pr = obj(raw.pull_request);
  if (f.labels) {
    const item = pr ?? obj(raw.issue);
    const names = (Array.isArray(item?.labels) ? item.labels : []).map((l) =>
      str(obj(l)?.name)?.toLowerCase(),
    );
    if (!f.labels.some((l) => names.includes(l.toLowerCase())))
      return `labels: none of ${f.labels.join(', ')} is on the ${pr ? 'pull request' : 'issue'}`;
  }
  if (f.draft !== undefined && (pr?.draft === true) !== f.draft)
    return f.draft ? 'draft: the pull request is not a draft' : 'draft: the pull request is a draft';
  if (f.authors) {
    const author = authorOf(type, raw);
    if (!author) return 'authors: the event names no author';
    const lower = author.toLowerCase();
    if (!f.authors.some((a) => a.toLowerCase() === lower || regex(a).testExact(author)))
      return `authors: ${author} is not one of ${f.authors.join(', ')}`;
  }
  if (f.states) {
    const state = str(obj(raw.review)?.state)?.toLowerCase() ?? '';
    if (!f.states.includes(state))
      return `states: review state ${state || '(none)'} is not one of ${f.states.join(', ')}`;
  }
  if (f.workflows) {
    const run = obj(raw.workflow_run);
    const names = [str(run?.name), str(run?.path)].filter((x): x is string => x !== null);
    const ok = f.workflows.some((w) => names.some((n) => n === w || n.endsWith(`/${w}`)));
    if (!ok) return `workflows: ${names.join(' / ') || '(none)'} is not one of ${f.workflows.join(', ')}`;
  }
  if (f.conclusions) {
    const c = str(obj(raw[type])?.conclusion)?.toLowerCase() ?? '';
    if (!f.conclusions.some((x) => x.toLowerCase() === c))
      return `conclusions: ${c || '(none)'} is not one of ${f.conclusions.join(', ')}`;
  }
  if (f.ref_types) {
    const t = str(raw.ref_type) ?? '';
    if (!f.ref_types.includes(t))
      return `ref_types: ${t || '(none)'} is not one of ${f.ref_types.join(', ')}`;
  }
  return undefined;
}

/** Who the event is by: the item's author where there is one, else the sender (pushes: the pusher). */
export function authorOf(type: string, raw: Obj): string | undefined {
  const login = (o: unknown) => str(obj(o)?.login) ?? undefined;
  switch (type) {
    case 'pull_request':
    case 'pull_request_target':
      return login(obj(raw.pull_request)?.user) ?? login(raw.sender);
    case 'issues':
      return login(obj(raw.issue)?.user) ?? login(raw.sender);
    case 'issue_comment':
    case 'commit_comment':
    case 'pull_request_review_comment':
    case 'discussion_comment':
      return login(obj(raw.comment)?.user) ?? login(raw.sender);
    case 'pull_request_review':
      return login(obj(raw.review)?.user) ?? login(raw.sender);
    case 'release':
      return login(obj(raw.release)?.author) ?? login(raw.sender);
    default:
      return login(raw.sender);
  }
}

const regexes = new Map<string, RE2JS>();

/** Author regexes run on RE2 (linear time), case-insensitively as GitHub logins are. */
export function regex(source: string): RE2JS {
  let r = regexes.get(source);
  if (!r) {
    r = RE2JS.compile(source, RE2JS.CASE_INSENSITIVE);
    if (regexes.size >= 10_000) regexes.clear();
    regexes.set(source, r);
  }
  return r;
}
