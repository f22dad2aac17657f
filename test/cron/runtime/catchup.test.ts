import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import type { Db } from '../../../src/db/db.js';
import { StubEngine } from '../../../tools/stubEngine.js';
import { openTestDb } from '../../helpers/harness.js';
import { deployCron, engineFires, fireRows, type Node, startNode, until, untilMoving } from './helpers.js';

const hourly = (policy: string, extra: Record<string, unknown> = {}) => ({
  cron_expression: '0 * * * *',
  jitter_seconds: 0,
  catchup_policy: policy,
  catchup_window_seconds: 3 * 3600,
  ...extra,
});

describe('restart after downtime: catch-up policies', () => {
  const engine = new StubEngine();
  let db: Db;
  let schema: string;
  let drop: () => Promise<void>;
  let node: Node | undefined;
  beforeAll(async () => {
    await engine.start();
    ({ db, schema, drop } = await openTestDb());
  });
  afterAll(async () => {
    await node?.stop();
    await db?.close();
    await drop?.();
    await engine.stop();
  });

  it('skip, latest and all each do what they say, and every tick not run is recorded with its reason', {
    timeout: 60_000,
  }, async () => {
    const clock1 = new ManualClock('2026-03-02T00:59:50Z');
    node = await startNode({ db, schema, engineUrl: engine.url, clock: clock1 });
    await deployCron(node, 'wf-skip', hourly('skip'));
    await deployCron(node, 'wf-latest', hourly('latest'));
    await deployCron(node, 'wf-all', hourly('all', { max_missed_runs: 2 }));
    await deployCron(node, 'wf-default', { cron_expression: '0 * * * *', jitter_seconds: 0 });
    await clock1.setTime('2026-03-02T01:00:00Z');
    const all = ['wf-skip', 'wf-latest', 'wf-all', 'wf-default'];
    await untilMoving(clock1, () => all.every((w) => engineFires({ engine }, w).length === 1));
    await untilMoving(
      clock1,
      async () => (await fireRows({ db })).filter((r) => r.outcome === 'fired').length === 4,
    );
    await clock1.setTime('2026-03-02T01:00:10Z');
    await node.stop();
    node = undefined;

    // Down from 01:30 to 05:30: 02:00 is outside the 3 h window, 03:00-05:00 inside it.
    const clock2 = new ManualClock('2026-03-02T05:30:00Z');
    node = await startNode({ db, schema, engineUrl: engine.url, clock: clock2 });
    await clock2.advance(0);
    // Time moves on while we look (a few seconds of it, far from 06:00): a retried engine call completes.
    await untilMoving(clock2, () => engineFires({ engine }, 'wf-all').length === 3);
    await untilMoving(clock2, () => engineFires({ engine }, 'wf-latest').length === 2);
    await untilMoving(clock2, async () => (await fireRows({ db }, 'wf-skip')).length === 5);
    await untilMoving(clock2, async () => (await fireRows({ db })).every((r) => r.outcome !== 'claimed'));

    const view = async (wf: string) =>
      (await fireRows({ db }, wf)).map((r) => [r.nominal.slice(11, 16), r.outcome, r.source, r.reason]);
    expect(await view('wf-skip')).toEqual([
      ['01:00', 'fired', 'schedule', null],
      ['02:00', 'missed', 'schedule', 'outside_catchup_window'],
      ['03:00', 'missed', 'schedule', 'catchup_policy_skip'],
      ['04:00', 'missed', 'schedule', 'catchup_policy_skip'],
      ['05:00', 'missed', 'schedule', 'catchup_policy_skip'],
    ]);
    expect(await view('wf-latest')).toEqual([
      ['01:00', 'fired', 'schedule', null],
      ['02:00', 'missed', 'schedule', 'outside_catchup_window'],
      ['03:00', 'missed', 'schedule', 'superseded_by_latest'],
      ['04:00', 'missed', 'schedule', 'superseded_by_latest'],
      ['05:00', 'fired', 'catchup', null],
    ]);
    expect(await view('wf-all')).toEqual([
      ['01:00', 'fired', 'schedule', null],
      ['02:00', 'missed', 'schedule', 'outside_catchup_window'],
      ['03:00', 'missed', 'schedule', 'catchup_limit'],
      ['04:00', 'fired', 'catchup', null],
      ['05:00', 'fired', 'catchup', null],
    ]);
    // Default: latest within a 1 h window.
    expect((await view('wf-default')).map((r) => r.slice(0, 2))).toEqual([
      ['01:00', 'fired'],
      ['02:00', 'missed'],
      ['03:00', 'missed'],
      ['04:00', 'missed'],
      ['05:00', 'fired'],
    ]);
    const latest = engineFires({ engine }, 'wf-latest');
    expect(latest.map((f) => [f.scheduled, f.data.catchup])).toEqual([
      ['2026-03-02T01:00:00.000Z', false],
      ['2026-03-02T05:00:00.000Z', true],
    ]);
    expect(engineFires({ engine }, 'wf-skip')).toHaveLength(1);

    // The loop carries on from there: 06:00 fires normally for every policy.
    await clock2.setTime('2026-03-02T06:00:00Z');
    await untilMoving(clock2, () => engineFires({ engine }, 'wf-skip').length === 2);
    expect(engineFires({ engine }, 'wf-skip')[1]!.data).toMatchObject({ catchup: false });
  });

  it('a restart within the misfire grace fires the late tick normally and loses nothing', {
    timeout: 60_000,
  }, async () => {
    const clock1 = new ManualClock('2026-03-03T00:00:50Z');
    await node?.stop();
    node = await startNode({ db, schema, engineUrl: engine.url, clock: clock1 });
    await deployCron(node, 'wf-minute', { cron_expression: '* * * * *', jitter_seconds: 0 });
    await clock1.setTime('2026-03-03T00:01:00Z');
    await until(() => engineFires({ engine }, 'wf-minute').length === 1);
    await node.stop();
    const clock2 = new ManualClock('2026-03-03T00:02:40Z');
    node = await startNode({ db, schema, engineUrl: engine.url, clock: clock2 });
    await clock2.advance(0);
    await until(() => engineFires({ engine }, 'wf-minute').length === 2);
    expect(engineFires({ engine }, 'wf-minute').map((f) => [f.scheduled, f.data.catchup])).toEqual([
      ['2026-03-03T00:01:00.000Z', false],
      ['2026-03-03T00:02:00.000Z', false],
    ]);
  });
});
