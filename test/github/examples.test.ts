import { describe, expect, it } from 'vitest';
import { parseGithubConfig } from '../../src/triggers/github/config.js';
import { matchGithub } from '../../src/triggers/github/match.js';
import { eventOf, example } from './helpers.js';

type Obj = Record<string, unknown>;

const TRIGGERS = {
  push_master: { push: { branches: ['master'] } },
  push_tags: { push: { tags: ['simple-*'] } },
  push_markdown: { push: { paths: ['**.md'] } },
  push_src: { push: { paths: ['src/**'] } },
  push_any: { push: {} },
  pr_default: { pull_request: {} },
  pr_closed: { pull_request: { types: ['closed'] } },
  pr_labeled_bug: { pull_request: { types: ['labeled'], labels: ['bug'] } },
  pr_to_develop: { pull_request: { branches: ['develop'] } },
  issues_opened: { issues: { types: ['opened'] } },
  issue_comment: { issue_comment: {} },
  release_published: { release: { types: ['published'] } },
  workflow_run_completed: { workflow_run: { types: ['completed'] } },
} as const;

const configs = Object.entries(TRIGGERS).map(([name, event_config]) => ({
  name,
  config: parseGithubConfig({
    repository: 'Codertocat/Hello-World',
    github_app_installation_id: 1,
    event_config,
  }),
}));

/** App deliveries always name the installation; some published examples come from repository hooks. */
function asApp(p: Obj): Obj {
  return { ...p, installation: p.installation ?? { id: 1 } };
}

const branchPush = () => {
  const p = example('push', (x) => x.ref === 'refs/heads/master');
  return { ...p, created: false, before: '6113728f27ae82c7b1a177c8d03f9e96e0adf245' };
};

const CASES: [string, string, Obj, string[]][] = [
  ['push to a branch', 'push', branchPush(), ['push_master', 'push_markdown', 'push_any']],
  [
    'push creating a branch',
    'push',
    example('push', (x) => x.ref === 'refs/heads/master' && x.created === true),
    ['push_master', 'push_markdown', 'push_any'],
  ],
  // Path filters are not evaluated for tag pushes, so both path triggers fire.
  [
    'push of a tag',
    'push',
    asApp(example('push', (x) => x.created === true && String(x.ref).startsWith('refs/tags/'))),
    ['push_tags', 'push_markdown', 'push_src', 'push_any'],
  ],
  [
    'push deleting a tag',
    'push',
    example('push', (x) => x.deleted === true && x.installation !== undefined),
    [],
  ],
  [
    'pull_request opened',
    'pull_request',
    example('pull_request', (x) => x.action === 'opened' && x.installation !== undefined),
    ['pr_default'],
  ],
  [
    'pull_request synchronize',
    'pull_request',
    example('pull_request', (x) => x.action === 'synchronize'),
    ['pr_default'],
  ],
  [
    'pull_request closed',
    'pull_request',
    example('pull_request', (x) => x.action === 'closed' && x.installation !== undefined),
    ['pr_closed'],
  ],
  [
    'pull_request labeled',
    'pull_request',
    example('pull_request', (x) => x.action === 'labeled'),
    ['pr_labeled_bug'],
  ],
  ['issues opened', 'issues', asApp(example('issues', (x) => x.action === 'opened')), ['issues_opened']],
  ['issues edited', 'issues', asApp(example('issues', (x) => x.action === 'edited')), []],
  [
    'issue_comment created',
    'issue_comment',
    example('issue_comment', (x) => x.installation !== undefined),
    ['issue_comment'],
  ],
  [
    'release published',
    'release',
    asApp(example('release', (x) => x.action === 'published')),
    ['release_published'],
  ],
  [
    'release created',
    'release',
    example('release', (x) => x.action === 'created' && x.installation !== undefined),
    [],
  ],
  [
    'workflow_run completed',
    'workflow_run',
    asApp(example('workflow_run', (x) => x.action === 'completed')),
    ['workflow_run_completed'],
  ],
  ['ping', 'ping', example('ping'), []],
  ['installation created', 'installation', example('installation', (x) => x.action === 'created'), []],
];

describe('real payloads (@octokit/webhooks-examples) against a set of triggers', () => {
  it.each(CASES)('%s', (_name, type, payload, expected) => {
    const event = eventOf(type, payload);
    const matched = configs.filter((c) => matchGithub(c.config, event).matched).map((c) => c.name);
    expect(matched.sort()).toEqual([...expected].sort());
  });

  it('explains each non-match with the rule that decided', () => {
    const event = eventOf(
      'pull_request',
      example('pull_request', (x) => x.action === 'closed' && x.installation !== undefined),
    );
    const reasons = Object.fromEntries(
      configs.map((c) => {
        const d = matchGithub(c.config, event);
        return [c.name, d.matched ? 'matched' : d.reason];
      }),
    );
    expect(reasons.pr_default).toBe(
      "actions: closed is not one of opened, synchronize, reopened (GitHub's default)",
    );
    expect(reasons.pr_closed).toBe('matched');
    expect(reasons.pr_to_develop).toBe(
      "actions: closed is not one of opened, synchronize, reopened (GitHub's default)",
    );
    expect(reasons.push_any).toBe('event: pull_request is not one of push');
  });

  it('builds trigger_data from a real push', () => {
    const data = eventOf('push', branchPush()).payload;
    expect(data).toMatchObject({
      trigger_type: 'GITHUB',
      event_type: 'push',
      action: null,
      delivery_id: 'test',
      repository: { full_name: 'Codertocat/Hello-World', id: 186853002, private: false },
      sender: { login: 'Codertocat', type: 'User' },
      installation_id: 1,
      ref: 'refs/heads/master',
      branch: 'master',
      tag: null,
      after: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
      commit_sha: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
      changed_files: ['README.md'],
    });
    expect((data.payload as Obj).commits).toBeDefined();
  });

  it('builds trigger_data from a real pull request', () => {
    const data = eventOf(
      'pull_request',
      example('pull_request', (x) => x.action === 'synchronize'),
    ).payload;
    expect(data).toMatchObject({
      event_type: 'pull_request',
      action: 'synchronize',
      number: 2,
      branch: 'master',
      base_ref: 'master',
      head_ref: 'changes',
    });
    expect(data.head_sha).toMatch(/^[0-9a-f]{40}$/);
    expect(data.base_sha).toMatch(/^[0-9a-f]{40}$/);
    expect(data.changed_files).toBeUndefined();
  });
});
