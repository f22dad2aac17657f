import { describe, expect, it } from 'vitest';
import { parseGithubConfig } from '../../src/triggers/github/config.js';
import { ConfigFieldError } from '../../src/triggers/types.js';

const parse = (raw: Record<string, unknown>) => parseGithubConfig({ repository: 'octo/repo', ...raw });

function fails(raw: Record<string, unknown>, field: string, message: RegExp): void {
  try {
    parse(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigFieldError);
    expect((err as ConfigFieldError).field).toBe(field);
    expect((err as Error).message).toMatch(message);
    return;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe('GITHUB configuration', () => {
  it('normalises the spec shape with its defaults', () => {
    expect(parse({})).toEqual({
      repository: 'octo/repo',
      installation_id: null,
      installation_source: null,
      events: { push: {}, pull_request: {} },
      author_filter: null,
      ignore_bots: true,
      include_payload: true,
    });
  });

  it('normalises the design shape (the architecture document example)', () => {
    const c = parseGithubConfig({
      github_app_installation_id: '12345678',
      repository: 'owner/repo-name',
      event_config: {
        push: { branches: ['main'], paths: ['src/**'] },
        pull_request: { actions: ['opened', 'synchronize'], branches: ['main'] },
      },
      author_filter: '^(alice|bob)$',
      ignore_bots: false,
    });
    expect(c).toMatchObject({
      installation_id: 12345678,
      installation_source: 'config',
      events: {
        push: { branches: ['main'], paths: ['src/**'] },
        pull_request: { actions: ['opened', 'synchronize'], branches: ['main'] },
      },
      author_filter: '^(alice|bob)$',
      ignore_bots: false,
    });
  });

  it('reads event_config as a list or a JSON string, and lets it win over the default events', () => {
    expect(parse({ event_config: ['issues', 'release'], events: ['push'] }).events).toEqual({
      issues: {},
      release: {},
    });
    expect(parse({ event_config: '{"push":{"tags":["v*"]}}' }).events).toEqual({ push: { tags: ['v*'] } });
    expect(parse({ event_config: 'push, issues' }).events).toEqual({ push: {}, issues: {} });
    expect(parse({ event_config: {}, events: 'issues' }).events).toEqual({ issues: {} });
  });

  it('accepts GitHub spellings and folds aliases', () => {
    const c = parse({
      event_config: {
        pull_request: {
          types: ['opened'],
          'paths-ignore': ['docs/**'],
          draft_handling: 'ignore',
          states: undefined,
        },
        pull_request_review: { states: ['APPROVED'] },
      },
    });
    expect(c.events.pull_request).toEqual({ actions: ['opened'], paths_ignore: ['docs/**'], draft: false });
    expect(c.events.pull_request_review).toEqual({ states: ['approved'] });
  });

  it('applies shared filters only where an event can use them, never over its own', () => {
    const c = parse({
      event_config: { push: { branches_ignore: ['wip/*'] }, pull_request: {}, issues: {} },
      branches: ['main'],
      filter_conditions: { labels: ['bug'] },
    });
    expect(c.events).toEqual({
      push: { branches_ignore: ['wip/*'] },
      pull_request: { branches: ['main'], labels: ['bug'] },
      issues: { labels: ['bug'] },
    });
  });

  it.each([
    [{ repository: '' }, 'repository', /owner\/repo/],
    [{ repository: 'no-slash' }, 'repository', /owner\/repo/],
    [
      { event_config: { push: { branches: ['a'], branches_ignore: ['b'] } } },
      'event_config.push.branches_ignore',
      /cannot both be set/,
    ],
    [
      { event_config: { push: { paths: ['a'], 'paths-ignore': ['b'] } } },
      'event_config.push.paths_ignore',
      /cannot both be set/,
    ],
    [
      { event_config: { push: { tags: ['a'], tags_ignore: ['b'] } } },
      'event_config.push.tags_ignore',
      /cannot both be set/,
    ],
    [
      { event_config: { push: { branches: ['!main'] } } },
      'event_config.push.branches',
      /at least one positive/,
    ],
    [{ event_config: { push: { paths: ['src/[]'] } } }, 'event_config.push.paths', /empty \[ \]/],
    [{ event_config: { push: { branch: ['main'] } } }, 'event_config.push.branch', /unknown filter/],
    [{ event_config: { pull_request: { tags: ['v*'] } } }, 'event_config.pull_request.tags', /carry nothing/],
    [{ event_config: { push: { actions: ['opened'] } } }, 'event_config.push.actions', /carry nothing/],
    [{ event_config: { issues: { paths: ['x'] } } }, 'event_config.issues.paths', /carry nothing/],
    [{ event_config: { 'Push!': {} } }, 'event_config', /not a GitHub event name/],
    [
      { events: ['issues'], filter_conditions: { paths: ['src/**'] } },
      'filter_conditions.paths',
      /none of the events/,
    ],
    [{ events: ['issues'], branches: ['main'] }, 'branches', /none of the events \(issues\)/],
    [{ branches: ['[x'] }, 'branches', /closing/],
    [{ author_filter: '(?=x)' }, 'author_filter', /RE2 syntax/],
    [{ event_config: { push: { authors: ['(a)\\1'] } } }, 'event_config.push.authors.0', /RE2 syntax/],
    [{ github_app_installation_id: 'abc' }, 'github_app_installation_id', /positive integer/],
    [{ ignore_bots: 'nope' }, 'ignore_bots', /true or false/],
    [
      { event_config: { pull_request: { draft_handling: 'maybe' } } },
      'event_config.pull_request.draft_handling',
      /include, ignore or only/,
    ],
  ])('rejects %j', (raw, field, message) => {
    fails(raw as Record<string, unknown>, field, message);
  });

  it('takes ignore_bots false at its word (defect 10)', () => {
    expect(parse({ ignore_bots: false }).ignore_bots).toBe(false);
    expect(parse({ ignore_bots: 'false' }).ignore_bots).toBe(false);
  });
});
