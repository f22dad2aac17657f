import { describe, expect, it } from 'vitest';
import { parseCronConfig } from '../../../src/triggers/cron/config.js';
import { ConfigFieldError } from '../../../src/triggers/types.js';

const ctx = { workflowId: 'wf-1', nodeId: 'cron_1', defaultTimezone: 'Europe/Berlin' };

describe('parseCronConfig', () => {
  it('fills the defaults (timezone from SCHEDULER_TIMEZONE)', () => {
    expect(parseCronConfig({ cron_expression: ' 0 9 * * 1-5 ', enabled: true }, ctx)).toEqual({
      cron_expression: '0 9 * * 1-5',
      timezone: 'Europe/Berlin',
      jitter_seconds: 30,
      catchup_window_seconds: 3600,
      catchup_policy: 'latest',
      overlap_policy: 'allow',
      dst_policy: { gap: 'shift', overlap: 'first' },
      max_missed_runs: 3,
    });
  });

  it('accepts every option, names and spellings', () => {
    expect(
      parseCronConfig(
        {
          cron_expression: '@hourly',
          timezone: 'america/new_york',
          jitter_seconds: 0,
          catchup_window_seconds: '86400',
          catchup_policy: 'ALL',
          overlap_policy: 'skip',
          dst_policy: { overlap: 'both' },
          max_missed_runs: 10,
        },
        ctx,
      ),
    ).toEqual({
      cron_expression: '@hourly',
      timezone: 'America/New_York',
      jitter_seconds: 0,
      catchup_window_seconds: 86_400,
      catchup_policy: 'all',
      overlap_policy: 'skip',
      dst_policy: { gap: 'shift', overlap: 'both' },
      max_missed_runs: 10,
    });
    const c = (extra: Record<string, unknown>) =>
      parseCronConfig({ cron_expression: '* * * * *', ...extra }, ctx);
    expect(c({ dst_policy: 'temporal' }).dst_policy).toEqual({ gap: 'skip', overlap: 'both' });
    expect(c({ dst_policy: 'cronie' }).dst_policy).toEqual({ gap: 'shift', overlap: 'first' });
    expect(c({ catchup_policy: 'fire_once' }).catchup_policy).toBe('latest');
    expect(c({ catchup_policy: 'fire_all' }).catchup_policy).toBe('all');
    expect(c({ timezone: '' }).timezone).toBe('Europe/Berlin');
    expect(c({ timezone: 'UTC' }).timezone).toBe('UTC');
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ['missing expression', { cron_expression: undefined }, 'cron_expression', 'SCHED_INVALID_CRON'],
    ['expression not a string', { cron_expression: 5 }, 'cron_expression', 'SCHED_INVALID_CRON'],
    ['bad minute', { cron_expression: '61 * * * *' }, 'cron_expression', 'SCHED_INVALID_CRON'],
    ['7 fields', { cron_expression: '0 0 0 1 1 * 2030' }, 'cron_expression', 'SCHED_INVALID_CRON'],
    ['never fires', { cron_expression: '0 0 30 2 *' }, 'cron_expression', 'SCHED_CRON_NEVER_FIRES'],
    ['unknown zone', { timezone: 'Mars/Olympus_Mons' }, 'timezone', 'SCHED_INVALID_TIMEZONE'],
    ['zone not a string', { timezone: 5 }, 'timezone', 'SCHED_INVALID_TIMEZONE'],
    ['offset is not a zone', { timezone: '+02:00' }, 'timezone', 'SCHED_INVALID_TIMEZONE'],
    ['negative jitter', { jitter_seconds: -1 }, 'jitter_seconds', 'SCHED_INVALID_CRON_OPTION'],
    ['jitter over an hour', { jitter_seconds: 3601 }, 'jitter_seconds', 'SCHED_INVALID_CRON_OPTION'],
    ['fractional jitter', { jitter_seconds: 1.5 }, 'jitter_seconds', 'SCHED_INVALID_CRON_OPTION'],
    ['jitter text', { jitter_seconds: 'soon' }, 'jitter_seconds', 'SCHED_INVALID_CRON_OPTION'],
    [
      'window over a year',
      { catchup_window_seconds: 366 * 86_400 + 1 },
      'catchup_window_seconds',
      'SCHED_INVALID_CRON_OPTION',
    ],
    [
      'unknown catch-up policy',
      { catchup_policy: 'sometimes' },
      'catchup_policy',
      'SCHED_INVALID_CRON_OPTION',
    ],
    ['unknown overlap policy', { overlap_policy: 'queue' }, 'overlap_policy', 'SCHED_INVALID_CRON_OPTION'],
    ['max_missed_runs 0', { max_missed_runs: 0 }, 'max_missed_runs', 'SCHED_INVALID_CRON_OPTION'],
    ['max_missed_runs 11', { max_missed_runs: 11 }, 'max_missed_runs', 'SCHED_INVALID_CRON_OPTION'],
    ['unknown DST policy name', { dst_policy: 'sometimes' }, 'dst_policy', 'SCHED_INVALID_DST_POLICY'],
    ['bad gap', { dst_policy: { gap: 'later' } }, 'dst_policy.gap', 'SCHED_INVALID_DST_POLICY'],
    ['bad overlap', { dst_policy: { overlap: 'last' } }, 'dst_policy.overlap', 'SCHED_INVALID_DST_POLICY'],
    [
      'extra DST key',
      { dst_policy: { gap: 'skip', when: 'always' } },
      'dst_policy.when',
      'SCHED_INVALID_DST_POLICY',
    ],
    ['DST policy list', { dst_policy: ['skip'] }, 'dst_policy', 'SCHED_INVALID_DST_POLICY'],
  ])('%s', (_name, extra, field, code) => {
    let err: unknown;
    try {
      parseCronConfig({ cron_expression: '0 9 * * *', ...extra }, ctx);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigFieldError);
    expect({ field: (err as ConfigFieldError).field, code: (err as ConfigFieldError).code }).toEqual({
      field,
      code,
    });
    expect((err as Error).message.length).toBeGreaterThan(5);
  });
});
