import { describe, expect, it } from 'vitest';
import { matchGithub } from '../../src/triggers/github/match.js';
import { config, eventOf, pr, push, REPO, USER } from './helpers.js';

type Obj = Record<string, unknown>;
interface Row {
  rule: string;
  cfg: Obj;
  type: string;
  payload: Obj;
  files?: string[];
  note?: Parameters<typeof eventOf>[3];
  /** true, or a pattern the non-match reason must match. */
  expect: true | RegExp;
}

const manyCommits = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `c${i}`, added: [], modified: ['docs/x.md'], removed: [] }));
const pushCfg = (f: Obj) => ({ event_config: { push: f } });
const prCfg = (f: Obj = {}) => ({ event_config: { pull_request: f } });

// Every rule of protocols.md §2, each with a case on both sides of it.
const ROWS: Row[] = [
  {
    rule: 'branches selects the pushed branch',
    cfg: pushCfg({ branches: ['main'] }),
    type: 'push',
    payload: push('refs/heads/main'),
    expect: true,
  },
  {
    rule: 'branches rejects another branch',
    cfg: pushCfg({ branches: ['main'] }),
    type: 'push',
    payload: push('refs/heads/dev'),
    expect: /^branches: dev matches none of main$/,
  },
  {
    rule: '! after a positive excludes',
    cfg: pushCfg({ branches: ['releases/**', '!releases/**-alpha'] }),
    type: 'push',
    payload: push('refs/heads/releases/v1-alpha'),
    expect: /excluded by !releases\/\*\*-alpha/,
  },
  {
    rule: '! after a positive leaves others',
    cfg: pushCfg({ branches: ['releases/**', '!releases/**-alpha'] }),
    type: 'push',
    payload: push('refs/heads/releases/v1'),
    expect: true,
  },
  {
    rule: 'a later positive re-includes (order matters)',
    cfg: pushCfg({ branches: ['!releases/**-alpha', 'releases/**'] }),
    type: 'push',
    payload: push('refs/heads/releases/v1-alpha'),
    expect: true,
  },
  {
    rule: 'branches_ignore skips',
    cfg: pushCfg({ branches_ignore: ['dev/*'] }),
    type: 'push',
    payload: push('refs/heads/dev/x'),
    expect: /^branches_ignore: dev\/x matches dev\/\*$/,
  },
  {
    rule: 'branches_ignore lets others through',
    cfg: pushCfg({ 'branches-ignore': ['dev/*'] }),
    type: 'push',
    payload: push('refs/heads/main'),
    expect: true,
  },
  {
    rule: '? = zero or one of the preceding character',
    cfg: pushCfg({ branches: ['hotfixe?s/*'] }),
    type: 'push',
    payload: push('refs/heads/hotfixs/a'),
    expect: true,
  },
  {
    rule: '+ = one or more of the preceding character',
    cfg: pushCfg({ tags: ['v[0-9]+.[0-9]+'] }),
    type: 'push',
    payload: push('refs/tags/v10.20'),
    expect: true,
  },
  {
    rule: '+ needs at least one',
    cfg: pushCfg({ tags: ['v[0-9]+.[0-9]+'] }),
    type: 'push',
    payload: push('refs/tags/v.1'),
    expect: /^tags: v\.1 matches none/,
  },
  {
    rule: 'tags only: tag push matches',
    cfg: pushCfg({ tags: ['v*'] }),
    type: 'push',
    payload: push('refs/tags/v1'),
    expect: true,
  },
  {
    rule: 'tags only: branch pushes never match',
    cfg: pushCfg({ tags: ['v*'] }),
    type: 'push',
    payload: push('refs/heads/main'),
    expect: /only tag filters/,
  },
  {
    rule: 'tags_ignore only: branch pushes never match',
    cfg: pushCfg({ tags_ignore: ['v*-rc'] }),
    type: 'push',
    payload: push('refs/heads/main'),
    expect: /only tag filters/,
  },
  {
    rule: 'tags_ignore skips',
    cfg: pushCfg({ tags_ignore: ['v*-rc'] }),
    type: 'push',
    payload: push('refs/tags/v2-rc'),
    expect: /^tags_ignore: v2-rc matches v\*-rc$/,
  },
  {
    rule: 'branches only: tag pushes never match',
    cfg: pushCfg({ branches: ['**'] }),
    type: 'push',
    payload: push('refs/tags/v1'),
    expect: /only branch filters/,
  },
  {
    rule: 'neither: tag pushes match',
    cfg: pushCfg({}),
    type: 'push',
    payload: push('refs/tags/v1'),
    expect: true,
  },
  {
    rule: 'neither: branch pushes match',
    cfg: pushCfg({}),
    type: 'push',
    payload: push('refs/heads/x'),
    expect: true,
  },
  {
    rule: 'branches and paths: both match',
    cfg: pushCfg({ branches: ['main'], paths: ['src/**'] }),
    type: 'push',
    payload: push('refs/heads/main', ['src/a.ts']),
    expect: true,
  },
  {
    rule: 'branches and paths: paths fail',
    cfg: pushCfg({ branches: ['main'], paths: ['src/**'] }),
    type: 'push',
    payload: push('refs/heads/main', ['docs/a.md']),
    expect: /^paths: none of 1 changed file\(s\) matches src\/\*\*$/,
  },
  {
    rule: 'branches and paths: branch fails',
    cfg: pushCfg({ branches: ['main'], paths: ['src/**'] }),
    type: 'push',
    payload: push('refs/heads/dev', ['src/a.ts']),
    expect: /^branches: /,
  },
  {
    rule: 'paths: any changed file is enough',
    cfg: pushCfg({ paths: ['src/**'] }),
    type: 'push',
    payload: push('refs/heads/main', ['docs/a.md', 'src/b.ts']),
    expect: true,
  },
  {
    rule: 'paths_ignore: skipped only if all files match',
    cfg: pushCfg({ paths_ignore: ['docs/**'] }),
    type: 'push',
    payload: push('refs/heads/main', ['docs/a.md', 'src/b.ts']),
    expect: true,
  },
  {
    rule: 'paths_ignore: all files ignored',
    cfg: pushCfg({ paths_ignore: ['docs/**'] }),
    type: 'push',
    payload: push('refs/heads/main', ['docs/a.md', 'docs/b.md']),
    expect: /^paths_ignore: all 2 changed file\(s\) match docs\/\*\*$/,
  },
  {
    rule: 'paths with ! exclusions',
    cfg: pushCfg({ paths: ['src/**', '!src/**/*.md'] }),
    type: 'push',
    payload: push('refs/heads/main', ['src/a/b.md']),
    expect: /^paths: none/,
  },
  {
    rule: 'paths with ! exclusions, another file',
    cfg: pushCfg({ paths: ['src/**', '!src/**/*.md'] }),
    type: 'push',
    payload: push('refs/heads/main', ['src/a/b.md', 'src/c.ts']),
    expect: true,
  },
  {
    rule: 'no changed files: no match (paths)',
    cfg: pushCfg({ paths: ['**'] }),
    type: 'push',
    payload: push('refs/heads/main'),
    expect: /^paths: no changed files$/,
  },
  {
    rule: 'no changed files: no match (paths_ignore)',
    cfg: pushCfg({ paths_ignore: ['docs/**'] }),
    type: 'push',
    payload: push('refs/heads/main'),
    expect: /^paths: no changed files$/,
  },
  {
    rule: 'path filters are not evaluated for tag pushes',
    cfg: pushCfg({ paths: ['src/**'] }),
    type: 'push',
    payload: push('refs/tags/v1'),
    expect: true,
  },
  {
    rule: 'more than 1,000 commits: always run',
    cfg: pushCfg({ paths: ['src/**'] }),
    type: 'push',
    payload: push('refs/heads/main', [], { commits: manyCommits(1001) }),
    expect: true,
  },
  {
    rule: '1,000 commits still diffed',
    cfg: pushCfg({ paths: ['src/**'] }),
    type: 'push',
    payload: push('refs/heads/main', [], { commits: manyCommits(1000) }),
    expect: /^paths: none/,
  },
  {
    rule: 'only the first 300 files count',
    cfg: pushCfg({ paths: ['late.txt'] }),
    type: 'push',
    payload: push('refs/heads/main', [...Array.from({ length: 300 }, (_, i) => `f${i}`), 'late.txt']),
    expect: /^paths: none of 300/,
  },
  {
    rule: 'a deletion runs nothing',
    cfg: pushCfg({}),
    type: 'push',
    payload: push('refs/heads/old', [], { deleted: true, after: '0'.repeat(40) }),
    expect: /was deleted/,
  },
  {
    rule: 'pull_request branches match the base',
    cfg: prCfg({ branches: ['main'] }),
    type: 'pull_request',
    payload: pr('opened', { base: 'main' }),
    expect: true,
  },
  {
    rule: 'pull_request branches ignore the head',
    cfg: prCfg({ branches: ['feature'] }),
    type: 'pull_request',
    payload: pr('opened', { base: 'main' }),
    expect: /^branches: main matches none of feature$/,
  },
  {
    rule: 'pull_request_target branches match the base',
    cfg: { event_config: { pull_request_target: { branches: ['rel/*'] } } },
    type: 'pull_request_target',
    payload: pr('reopened', { base: 'rel/1' }),
    expect: true,
  },
  ...['opened', 'synchronize', 'reopened'].map(
    (a): Row => ({
      rule: `default actions include ${a}`,
      cfg: prCfg(),
      type: 'pull_request',
      payload: pr(a),
      expect: true,
    }),
  ),
  ...['closed', 'labeled', 'edited'].map(
    (a): Row => ({
      rule: `default actions exclude ${a}`,
      cfg: prCfg(),
      type: 'pull_request',
      payload: pr(a),
      expect: /^actions: .*GitHub's default/,
    }),
  ),
  {
    rule: 'types replace the default',
    cfg: prCfg({ types: ['closed'] }),
    type: 'pull_request',
    payload: pr('closed'),
    expect: true,
  },
  {
    rule: 'types replace the default (opened now excluded)',
    cfg: prCfg({ types: ['closed'] }),
    type: 'pull_request',
    payload: pr('opened'),
    expect: /^actions: opened is not one of closed$/,
  },
  {
    rule: 'other events default to every action',
    cfg: { event_config: { issues: {} } },
    type: 'issues',
    payload: { action: 'milestoned', issue: {}, repository: REPO, installation: { id: 42 }, sender: USER },
    expect: true,
  },
  {
    rule: 'pull_request paths on fetched files',
    cfg: prCfg({ paths: ['src/**'] }),
    type: 'pull_request',
    payload: pr('synchronize'),
    files: ['src/x.ts'],
    expect: true,
  },
  {
    rule: 'pull_request paths fail closed without files',
    cfg: prCfg({ paths: ['src/**'] }),
    type: 'pull_request',
    payload: pr('synchronize'),
    note: {
      source: 'api',
      count: 0,
      truncated: false,
      error_code: 'SCHED_GITHUB_API_ERROR',
      error: 'GET /x answered HTTP 500',
    },
    expect:
      /^paths: changed files unavailable \(SCHED_GITHUB_API_ERROR: GET \/x answered HTTP 500\); the path filter fails closed$/,
  },
  {
    rule: 'pull_request paths: no files, no match',
    cfg: prCfg({ paths_ignore: ['docs/**'] }),
    type: 'pull_request',
    payload: pr('opened'),
    files: [],
    expect: /no changed files/,
  },
  {
    rule: 'labels: any, case-insensitive',
    cfg: prCfg({ labels: ['Bug', 'urgent'], types: ['labeled'] }),
    type: 'pull_request',
    payload: pr('labeled', { labels: ['bug'] }),
    expect: true,
  },
  {
    rule: 'labels: none present',
    cfg: prCfg({ labels: ['urgent'] }),
    type: 'pull_request',
    payload: pr('opened', { labels: ['bug'] }),
    expect: /^labels: none of urgent is on the pull request$/,
  },
  {
    rule: 'draft: false drops drafts',
    cfg: prCfg({ draft: false }),
    type: 'pull_request',
    payload: pr('opened', { draft: true }),
    expect: /is a draft/,
  },
  {
    rule: 'draft_handling only keeps drafts',
    cfg: prCfg({ draft_handling: 'only' }),
    type: 'pull_request',
    payload: pr('opened', { draft: true }),
    expect: true,
  },
  {
    rule: 'authors: login or RE2 regex',
    cfg: prCfg({ authors: ['octocat', 'team-.*'] }),
    type: 'pull_request',
    payload: pr('opened', { user: 'team-a' }),
    expect: true,
  },
  {
    rule: 'authors: no match',
    cfg: prCfg({ authors: ['octocat'] }),
    type: 'pull_request',
    payload: pr('opened', { user: 'mona' }),
    expect: /^authors: mona is not one of octocat$/,
  },
  {
    rule: 'author_filter anchors at the start',
    cfg: { ...prCfg(), author_filter: 'mon' },
    type: 'pull_request',
    payload: pr('opened'),
    expect: true,
  },
  {
    rule: 'author_filter mismatch',
    cfg: { ...prCfg(), author_filter: 'ona' },
    type: 'pull_request',
    payload: pr('opened'),
    expect: /^author_filter: mona does not match ona$/,
  },
  {
    rule: 'ignore_bots (default) drops Bot senders',
    cfg: pushCfg({}),
    type: 'push',
    payload: push('refs/heads/main', [], { sender: { login: 'renovate', type: 'Bot' } }),
    expect: /^ignore_bots: sender renovate is a bot$/,
  },
  {
    rule: 'ignore_bots drops [bot] logins',
    cfg: pushCfg({}),
    type: 'push',
    payload: push('refs/heads/main', [], { sender: { login: 'dependabot[bot]', type: 'User' } }),
    expect: /is a bot/,
  },
  {
    rule: 'ignore_bots: false really disables it',
    cfg: { ...pushCfg({}), ignore_bots: false },
    type: 'push',
    payload: push('refs/heads/main', [], { sender: { login: 'dependabot[bot]', type: 'Bot' } }),
    expect: true,
  },
  {
    rule: 'installation must match',
    cfg: pushCfg({}),
    type: 'push',
    payload: push('refs/heads/main', [], { installation: { id: 99 } }),
    expect: /^installation: 99 is not the trigger's installation 42$/,
  },
  {
    rule: 'a delivery without installation does not match',
    cfg: pushCfg({}),
    type: 'push',
    payload: push('refs/heads/main', [], { installation: undefined }),
    expect: /^installation: \(none\)/,
  },
  {
    rule: 'repository is case-insensitive',
    cfg: { ...pushCfg({}), repository: 'OCTO/repo' },
    type: 'push',
    payload: push('refs/heads/main'),
    expect: true,
  },
  {
    rule: 'another repository does not match',
    cfg: pushCfg({}),
    type: 'push',
    payload: push('refs/heads/main', [], { repository: { id: 2, full_name: 'octo/other' } }),
    expect: /^repository: octo\/other is not Octo\/Repo$/,
  },
  {
    rule: 'unsubscribed event',
    cfg: pushCfg({}),
    type: 'issues',
    payload: { action: 'opened', repository: REPO, installation: { id: 42 }, sender: USER },
    expect: /^event: issues is not one of push$/,
  },
  {
    rule: 'review states',
    cfg: { event_config: { pull_request_review: { states: ['APPROVED'] } } },
    type: 'pull_request_review',
    payload: { ...pr('submitted'), review: { state: 'approved', user: USER } },
    expect: true,
  },
  {
    rule: 'workflow_run workflows and conclusions',
    cfg: {
      event_config: { workflow_run: { workflows: ['ci.yml'], conclusions: ['failure'], branches: ['main'] } },
    },
    type: 'workflow_run',
    payload: {
      action: 'completed',
      workflow_run: {
        name: 'CI',
        path: '.github/workflows/ci.yml',
        conclusion: 'failure',
        head_branch: 'main',
      },
      repository: REPO,
      installation: { id: 42 },
      sender: USER,
    },
    expect: true,
  },
  {
    rule: 'workflow_run conclusion mismatch',
    cfg: { event_config: { workflow_run: { conclusions: ['failure'] } } },
    type: 'workflow_run',
    payload: {
      action: 'completed',
      workflow_run: { conclusion: 'success' },
      repository: REPO,
      installation: { id: 42 },
      sender: USER,
    },
    expect: /^conclusions: success/,
  },
  {
    rule: 'create ref_types',
    cfg: { event_config: { create: { ref_types: ['tag'] } } },
    type: 'create',
    payload: { ref: 'v1', ref_type: 'branch', repository: REPO, installation: { id: 42 }, sender: USER },
    expect: /^ref_types: branch is not one of tag$/,
  },
];

describe('GitHub Actions filter semantics', () => {
  it.each(ROWS.map((r) => [r.rule, r] as const))('%s', (_rule, r) => {
    const d = matchGithub(config(r.cfg), eventOf(r.type, r.payload, r.files, r.note));
    if (r.expect === true) expect(d).toEqual({ matched: true });
    else {
      expect(d.matched).toBe(false);
      expect(d.matched ? '' : d.reason).toMatch(r.expect);
    }
  });

  it('accepts the node-spec shape: shared branches and filter_conditions', () => {
    const c = config({
      events: ['push', 'pull_request', 'issues'],
      branches: ['main'],
      filter_conditions: { action: ['opened'] },
    });
    expect(c.events).toEqual({
      push: { branches: ['main'] },
      pull_request: { branches: ['main'], actions: ['opened'] },
      issues: { actions: ['opened'] },
    });
    const m = (type: string, p: Obj) => matchGithub(c, eventOf(type, p)).matched;
    expect(m('push', push('refs/heads/main'))).toBe(true);
    expect(m('push', push('refs/heads/dev'))).toBe(false);
    expect(m('pull_request', pr('opened'))).toBe(true);
    expect(m('pull_request', pr('synchronize'))).toBe(false);
  });

  it('can leave the payload out of trigger_data', () => {
    expect(
      matchGithub(
        config({ ...pushCfg({}), include_payload: false }),
        eventOf('push', push('refs/heads/main')),
      ),
    ).toEqual({
      matched: true,
      triggerData: { payload: null },
    });
  });
});
