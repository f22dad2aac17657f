import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StubEngine } from '../../../tools/stubEngine.js';
import { workflowSpec } from '../../helpers/workflows.js';
import { type Proc, spawnScheduler, until } from './helpers.js';

// Several replicas need a real PostgreSQL (PGlite is one process), so this file always uses one, in both
// CI runs, with a schema of its own.
const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TICKS = 62;
const describePath = '/api/v1/triggers/workflows/wf-rep/triggers/cron_1';

describe('two scheduler processes on one PostgreSQL', () => {
  const schema = `cron_rep_${randomBytes(4).toString('hex')}`;
  const engine = new StubEngine();
  const procs: Proc[] = [];
  let passed = false;
  /** When both loops had the trigger back after the first test's pause and resume. */
  let resumedAt = 0;

  beforeAll(async () => {
    await engine.start();
    const env = {
      DATABASE_URL: PG_URL,
      DATABASE_SCHEMA: schema,
      WORKFLOW_ENGINE_URL: engine.url,
      REDIS_URL: process.env.REDIS_URL,
      DISPATCH_BACKOFF_BASE_MS: '100',
      DISPATCH_BACKOFF_CAP_MS: '500',
      DISPATCH_POLL_INTERVAL_MS: '200',
      DISPATCH_LEASE_MS: '5000',
      ENGINE_TIMEOUT_MS: '2000',
      CRON_CLAIM_LEASE_MS: '3000',
      CRON_LOCK_WAIT_MS: '1000',
      CRON_RECONCILE_INTERVAL_MS: '5000',
    };
    // The first applies the migrations; the second starts against the same schema.
    procs.push(await spawnScheduler(env));
    procs.push(await spawnScheduler(env));
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    await engine.stop();
    if (passed) {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  });

  it('a deploy, pause or resume through one replica reaches the other loop within 2 s', async () => {
    const [a, b] = procs as [Proc, Proc];
    const spec = workflowSpec('wf-rep', [
      {
        id: 'cron_1',
        subtype: 'CRON',
        configurations: { cron_expression: '* * * * * *', jitter_seconds: 0 },
      },
    ]);
    const inLoop = async (p: Proc) => (await p.api('GET', describePath)).json?.details?.schedule?.in_loop;
    const within2s = async (p: Proc, want: boolean) => {
      const started = Date.now();
      await until(async () => (await inLoop(p)) === want, 2_000);
      return Date.now() - started;
    };
    const dep = await a.api('POST', '/api/v1/deployment/workflows/wf-rep/deploy', { workflow_spec: spec });
    expect(dep.status, JSON.stringify(dep.json)).toBe(200);
    await within2s(b, true);
    expect((await b.api('POST', `${describePath}/pause`, { note: 'propagation' })).status).toBe(200);
    await within2s(a, false);
    expect((await a.api('POST', `${describePath}/resume`)).status).toBe(200);
    await within2s(b, true);
    await within2s(a, true);
    resumedAt = Date.now();
  });

  it(`fires every tick of a per-second schedule exactly once for ${TICKS}+ ticks, even when one replica is killed`, async () => {
    const calls = () => engine.executeCalls().filter((c) => c.path === '/v2/workflows/wf-rep/execute');
    const tickOf = (c: { body: unknown }) =>
      Date.parse(
        String((c.body as { trigger_data: { scheduled_time_utc: string } }).trigger_data.scheduled_time_utc),
      );
    // Count from the first tick after the resume above. Not from the first call: a tick called between
    // the deploy and the pause would start the count inside the pause, whose ticks are rightly dropped
    // ('trigger is paused'; CI failed twice on such a tick).
    const afterResume = () =>
      calls()
        .map(tickOf)
        .filter((t) => t > resumedAt);
    await until(() => afterResume().length > 0, 10_000);
    const first = Math.min(...afterResume()) + 1_000;
    const last = first + (TICKS - 1) * 1_000;

    // Mid-run, SIGKILL the replica that claimed the newest tick (it holds the work in flight).
    await until(() => Date.now() >= first + 30_000 + Math.floor(Math.random() * 1000), 60_000);
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    const owner = await c.query<{ claimed_by: string }>(
      `SELECT claimed_by FROM ${schema}.cron_fires WHERE claimed_by IS NOT NULL ORDER BY nominal_at DESC LIMIT 1`,
    );
    const victim = procs.find((p) => p.instance === owner.rows[0]?.claimed_by) ?? procs[0]!;
    await victim.kill('SIGKILL');
    const survivor = procs.find((p) => p !== victim)!;

    // Every tick up to `last` arrives (late ones through the survivor's takeover of expired claims).
    await until(() => calls().some((x) => tickOf(x) >= last), 60_000);
    const notCalled = () => {
      const seen = new Set(calls().map(tickOf));
      const out: string[] = [];
      for (let t = first; t <= last; t += 1000) if (!seen.has(t)) out.push(new Date(t).toISOString());
      return out;
    };
    await until(() => notCalled().length === 0, 30_000).catch(async (err: Error) => {
      // Say where each tick the engine never saw got to: its fire record and its dispatch.
      const missing = notCalled();
      const fires = await c.query(
        `SELECT nominal_at, outcome, reason, claimed_by, source FROM ${schema}.cron_fires
         WHERE workflow_id = 'wf-rep' AND nominal_at = ANY($1::timestamptz[])`,
        [missing],
      );
      const dispatches = await c.query(
        `SELECT e.payload->>'scheduled_time_utc' AS tick, d.status, d.attempts, d.claim_token, d.lease_until,
           d.not_before, d.next_attempt_at, d.last_error
         FROM ${schema}.dispatches d JOIN ${schema}.events e ON e.id = d.event_id
         WHERE d.workflow_id = 'wf-rep' AND e.payload->>'scheduled_time_utc' = ANY($1::text[])`,
        [missing.map((m) => m)],
      );
      throw new Error(
        `${err.message}; victim ${victim.instance}, survivor ${survivor.instance}, never called: ${JSON.stringify({ missing, fires: fires.rows, dispatches: dispatches.rows })}`,
      );
    });

    const keysByTick = new Map<number, Set<string>>();
    for (const x of calls()) {
      const t = tickOf(x);
      if (t < first || t > last) continue;
      const set = keysByTick.get(t) ?? new Set<string>();
      set.add(String(x.idempotencyKey));
      keysByTick.set(t, set);
    }
    const missing: string[] = [];
    const doubled: string[] = [];
    for (let t = first; t <= last; t += 1000) {
      const n = keysByTick.get(t)?.size ?? 0;
      if (n === 0) missing.push(new Date(t).toISOString());
      if (n > 1) doubled.push(new Date(t).toISOString());
    }
    expect({ missing, doubled }).toEqual({ missing: [], doubled: [] });
    expect(keysByTick.size).toBe(TICKS);

    // The database agrees: one fired record per tick.
    const outcomes = async () =>
      (
        await c.query<{ outcome: string; n: number }>(
          `SELECT outcome, count(*)::int AS n FROM ${schema}.cron_fires
           WHERE workflow_id = 'wf-rep' AND nominal_at BETWEEN $1 AND $2 GROUP BY outcome`,
          [new Date(first).toISOString(), new Date(last).toISOString()],
        )
      ).rows.map((r) => [r.outcome, r.n]);
    await until(
      async () => JSON.stringify(await outcomes()) === JSON.stringify([['fired', TICKS]]),
      20_000,
    ).catch(() => {});
    expect(await outcomes()).toEqual([['fired', TICKS]]);
    await c.end();
    expect(survivor.proc.exitCode).toBeNull();
    passed = true;
  }, 150_000);
});
