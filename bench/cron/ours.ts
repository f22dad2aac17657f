import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import type { Db } from '../../src/db/db.js';
import { openPglite } from '../../src/db/pglite.js';
import { createServices, type Services, startServices, stopServices } from '../../src/services.js';
import { cronRuntimeOf } from '../../src/triggers/cron/runtime.js';
import { cronCacheStats } from '../../src/triggers/cron/schedule.js';
import { fireKey } from '../../src/triggers/cron/store.js';
import { cpuMs, measureCpu, memory, summary } from './common.js';
import { insertSchedules } from './setup.js';

type Summary = { n: number; p50: number; p99: number; max: number };

export interface OursOptions {
  n: number;
  distinct: number;
  durationS: number;
  idleS: number;
  /** Settling time before idle CPU is measured: PGlite's WebAssembly is still being optimised for a minute. */
  idleWarmupS: number;
  jitterS: number;
  db: 'postgres' | 'pglite';
  pgUrl: string;
  engineUrl: string;
}

export interface OursResult {
  db: string;
  restoreColdMs: number;
  restoreWarmMs: number;
  heapPerSchedule: number;
  rssPerSchedule: number;
  /** Engine call started minus the tick's effective instant: what a workflow sees. */
  callLateness: Summary;
  callLatenessAfterFirstMinute: Summary;
  /** Claim committed minus the effective instant (negative: claimed ahead, CRON_LOOKAHEAD_MS). */
  lateness: Summary;
  latenessAfterFirstMinute: Summary;
  expected: number;
  fired: number;
  missed: number;
  doubled: number;
  /** Dispatches still claimed once the service stopped: 0 unless outcomes went unwritten. */
  inFlightAfterStop: number;
  runCpuPercent: number;
  idleCpuPercent: number;
  idleBaselineCpuPercent: number;
  patternParses: number;
}

async function openDb(o: OursOptions): Promise<{ db: Db; schema: string; drop: () => Promise<void> }> {
  if (o.db === 'pglite') return { db: await openPglite({}), schema: 'public', drop: async () => {} };
  const schema = `bench_cron_${randomBytes(4).toString('hex')}`;
  const { openPostgres } = await import('../../src/db/postgres.js');
  const db = await openPostgres({ url: o.pgUrl, schema, poolSize: Number(process.env.BENCH_POOL ?? 10) });
  const drop = async () => {
    const c = new pg.Client({ connectionString: o.pgUrl });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  };
  return { db, schema, drop };
}

function services(o: OursOptions, db: Db, schema: string): Promise<Services> {
  const config = loadConfig({
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    WORKFLOW_ENGINE_URL: o.engineUrl,
    DATABASE_URL: o.db === 'postgres' ? o.pgUrl : undefined,
    DATABASE_SCHEMA: schema,
    DISPATCH_CONCURRENCY: '128',
    DATABASE_POOL_SIZE: process.env.BENCH_POOL ?? '10',
  });
  return createServices(config, { db });
}

/** Restore (cold, then warm), memory, a timed run with claim lateness, then idle CPU. */
export async function runOurs(o: OursOptions): Promise<OursResult> {
  const { db, schema, drop } = await openDb(o);
  try {
    // Cold: the first start computes every schedule's next tick and stores it.
    const s1 = await services(o, db, schema);
    const setupAt = Date.now();
    await insertSchedules(db, {
      n: o.n,
      distinct: o.distinct,
      jitterSeconds: o.jitterS,
      prefix: 'b',
      now: setupAt,
    });
    await startServices(s1);
    const restoreColdMs = cronRuntimeOf(s1)!.stats.restoreMs;
    await stopServices(s1, { closeDb: false });

    // Warm: a restart reads the stored next ticks (this is the restore figure that matters).
    const s2 = await services(o, db, schema);
    const base = memory();
    const parses0 = cronCacheStats().patternParses;
    await startServices(s2);
    const rt = cronRuntimeOf(s2)!;
    const restoreWarmMs = rt.stats.restoreMs;
    const loaded = memory();

    const lateness: number[] = [];
    // Ticks after the first minute: every schedule has fired (and parsed its expression) once since start.
    const steady: number[] = [];
    const steadyFrom = Date.now() + 63_000;
    const claimed = new Map<string, number>();
    const warm = Date.now() + 3_000;
    const end = Date.now() + o.durationS * 1000;
    const calls: number[] = [];
    const steadyCalls: number[] = [];
    s2.dispatcher.observer = (d, startedAt) => {
      const t = d.triggerData;
      if (d.kind !== 'CRON' || t.catchup || t.run_now) return;
      const effective = Date.parse(String(t.effective_time));
      if (effective >= warm) calls.push(startedAt - effective);
      if (effective >= steadyFrom) steadyCalls.push(startedAt - effective);
    };
    rt.firer.observer = ({ items, won, claimedAt }) => {
      for (const it of items) {
        const k = fireKey(it.workflowId, it.nodeId, it.nominal);
        if (!won.has(k)) continue;
        claimed.set(k, (claimed.get(k) ?? 0) + 1);
        if (it.source === 'schedule' && it.effective >= warm) lateness.push(claimedAt - it.effective);
        if (it.source === 'schedule' && it.effective >= steadyFrom) steady.push(claimedAt - it.effective);
      }
    };
    const profile = await startProfile();
    const c0 = cpuMs();
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, end - Date.now()));
    const runCpuPercent = ((cpuMs() - c0) / (performance.now() - w0)) * 100;
    await profile?.(`${o.db}-${o.n}`);
    rt.firer.observer = undefined;
    s2.dispatcher.observer = undefined;
    const patternParses = cronCacheStats().patternParses - parses0;

    // Every tick whose nominal time lies in [warm, end - 3 s] must be fired exactly once.
    const from = Math.ceil(warm / 1000) * 1000;
    const to = end - 3_000;
    let expected = 0;
    for (let t = from; t <= to; t += 1000) {
      const s = Math.floor((t % 60_000) / 1000);
      expected += Math.floor(o.n / 60) + (s < o.n % 60 ? 1 : 0);
    }
    await new Promise((r) => setTimeout(r, 3_000));
    const counted = await db.query<{ fired: number; other: number }>(
      `SELECT count(*) FILTER (WHERE outcome = 'fired')::int AS fired, count(*) FILTER (WHERE outcome <> 'fired')::int AS other
       FROM cron_fires WHERE nominal_at BETWEEN $1 AND $2`,
      [new Date(from).toISOString(), new Date(to).toISOString()],
    );
    // Doubled: more than one dispatch for one (trigger, nominal time), the end-to-end check.
    const doubledRows = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT d.workflow_id, d.trigger_node_id, e.payload->>'scheduled_time_utc' FROM dispatches d
         JOIN events e ON e.id = d.event_id WHERE e.kind = 'CRON'
         GROUP BY 1, 2, 3 HAVING count(*) > 1) x`,
    );
    const fired = counted.rows[0]?.fired ?? 0;
    const doubledClaims = [...claimed.values()].filter((c) => c > 1).length;
    await stopServices(s2, { closeDb: false });
    // A stopped service has written every outcome and given back every claim it did not start.
    const left = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM dispatches WHERE status = 'in_flight'`,
    );

    // Idle: the same number of schedules, none due (January 1st), against a process baseline without any.
    const idle = await idleCpu(o);
    return {
      db: o.db,
      restoreColdMs,
      restoreWarmMs,
      heapPerSchedule: (loaded.heapUsed - base.heapUsed) / o.n,
      rssPerSchedule: (loaded.rss - base.rss) / o.n,
      callLateness: summary(calls),
      callLatenessAfterFirstMinute: summary(steadyCalls),
      lateness: summary(lateness),
      latenessAfterFirstMinute: summary(steady),
      expected,
      fired,
      missed: Math.max(0, expected - fired),
      doubled: (doubledRows.rows[0]?.n ?? 0) + doubledClaims,
      inFlightAfterStop: left.rows[0]?.n ?? 0,
      runCpuPercent,
      idleCpuPercent: idle.loaded,
      idleBaselineCpuPercent: idle.empty,
      patternParses,
    };
  } finally {
    await db.close().catch(() => {});
    await drop();
  }
}

/** BENCH_CPU_PROFILE=<dir>: a V8 CPU profile of the timed run only (not setup or restore). */
async function startProfile(): Promise<((name: string) => Promise<void>) | null> {
  const dir = process.env.BENCH_CPU_PROFILE;
  if (!dir) return null;
  const { Session } = await import('node:inspector/promises');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async (name) => {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/cron-run-${name}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  };
}

async function idleCpu(o: OursOptions): Promise<{ empty: number; loaded: number }> {
  const measure = async (n: number) => {
    const { db, schema, drop } = await openDb(o);
    try {
      const s = await services(o, db, schema);
      if (n)
        await insertSchedules(db, {
          n,
          distinct: o.distinct,
          jitterSeconds: o.jitterS,
          yearly: true,
          prefix: 'i',
          now: Date.now(),
        });
      await startServices(s);
      await new Promise((r) => setTimeout(r, o.idleWarmupS * 1000));
      const m = await measureCpu(o.idleS * 1000);
      await stopServices(s, { closeDb: false });
      return m.percent;
    } finally {
      await db.close().catch(() => {});
      await drop();
    }
  };
  const empty = await measure(0);
  const loaded = await measure(o.n);
  return { empty, loaded };
}
