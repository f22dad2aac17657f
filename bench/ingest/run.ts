/**
 * bench/ingest: signed webhook deliveries per second through the full durable path (verify → route →
 * event + dispatch committed → 202; the engine stand-in is called afterwards), on PGlite and on
 * PostgreSQL, next to a bare Fastify echo route, plus ack latency at 1,000 requests/s: autocannon's fixed
 * rate (bursts of 10) and an evenly paced open-loop generator (latency from each request's due instant).
 *
 *   npm run bench:ingest -- [--duration 30] [--connections 100] [--rate 1000] [--pg postgres://postgres@127.0.0.1:5432/test] [--pin]
 *
 * `--pin` runs the measured server (the service, or the echo route) on CPU 0 and the generator and the
 * engine stand-in on CPU 1 (`taskset`), the pinned layout of the project's measurement method; PostgreSQL
 * stays where its scheduler puts it. Without it every process may run on either core.
 *
 * The service runs as `npm start` runs it, built (`npm run build` first) and started from dist/.
 * Each request is a 1.5 KB GitHub-like JSON body with a unique Standard Webhooks id and signature, so
 * none is deduplicated. On PostgreSQL the fixed-rate phase also counts transactions committed and WAL
 * flushes per 1,000 events (pg_stat_database, pg_stat_wal): work that the VM's speed does not move. Each
 * phase reports the host's steal time (`host_steal_cores`), and the evenly paced one its p99 outside the
 * 100-ms windows with steal (a diagnostic beside the figure, never instead of it).
 * Results go to stdout and bench/results/ingest-<timestamp>.json.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { Pool } from 'undici';
import { openPglite } from '../../src/db/pglite.js';
import { signStandardWebhook } from '../../src/triggers/webhook/verify.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    connections: { type: 'string', default: '100' },
    rate: { type: 'string', default: '1000' },
    pg: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    only: { type: 'string' },
    pin: { type: 'boolean', default: false },
  },
});
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
const RATE = Number(args.rate);
/** CPUs of the measured server and of the load side (generator, engine stand-in) with --pin. */
const CPU = args.pin ? { server: 0, load: 1 } : null;
if (CPU) {
  if (cpus().length < 2) throw new Error('--pin needs two CPUs');
  // Every thread of this process (the generator), and those it starts later, on the load side's CPU.
  execFileSync('taskset', ['-a', '-p', '-c', String(CPU.load), String(process.pid)], { stdio: 'ignore' });
}
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

const BODY = JSON.stringify({
  ref: 'refs/heads/main',
  before: 'a'.repeat(40),
  after: 'b'.repeat(40),
  repository: {
    id: 123456,
    full_name: 'octo-org/hello-world',
    private: false,
    owner: { login: 'octo-org', id: 1 },
  },
  pusher: { name: 'octocat', email: 'octocat@example.com' },
  sender: { login: 'octocat', id: 583231, type: 'User' },
  commits: Array.from({ length: 3 }, (_, i) => ({
    id: randomBytes(20).toString('hex'),
    message: `Commit number ${i} with a reasonably descriptive message`,
    timestamp: '2026-11-27T10:00:00Z',
    author: { name: 'Octo Cat', email: 'octocat@example.com' },
    added: [`src/feature_${i}.ts`],
    modified: ['README.md', `src/module_${i}/index.ts`],
    removed: [],
  })),
  head_commit: { id: 'c'.repeat(40), message: 'Merge pull request #42' },
});

interface Proc {
  proc: ChildProcess;
  url: string;
  pid: number;
}

/** Starts a Node process, on one CPU when `cpu` is given (taskset execs node: the pid stays node's). */
function start(cmd: string[], env: Record<string, string>, ready: RegExp, cpu?: number): Promise<Proc> {
  const [file, argv] =
    cpu === undefined ? [process.execPath, cmd] : ['taskset', ['-c', String(cpu), process.execPath, ...cmd]];
  const proc = spawn(file, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer) => {
      out += c;
      const m = ready.exec(out);
      if (m?.[1]) resolve({ proc, url: m[1], pid: proc.pid! });
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', (c) => (out += c));
    proc.on('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
  });
}

async function stop(p: Proc): Promise<void> {
  if (p.proc.exitCode !== null) return;
  const done = new Promise((r) => p.proc.once('exit', r));
  p.proc.kill('SIGTERM');
  await done;
}

/**
 * User + system CPU seconds from a /proc/<pid>/stat line (fields after the command name); with
 * `reaped`, also those of its children that ended and were waited for.
 */
function statCpuSeconds(stat: string, reaped = false): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const own = Number(f[11]) + Number(f[12]);
  return (reaped ? own + Number(f[13]) + Number(f[14]) : own) / 100;
}

/**
 * CPU seconds of every PostgreSQL process on this host (backends, WAL writer, checkpointer…), with
 * those of backends that have ended since (the postmaster's reaped children): the service's pool
 * closes idle connections, and a reading without them went down, even below zero.
 */
function postgresCpuSeconds(): number {
  let total = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.includes('(postgres)')) total += statCpuSeconds(stat, true);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return total;
}

/**
 * Steal time of the whole VM, in CPU seconds (/proc/stat): time the hypervisor ran something else while
 * one of our vCPUs had work. It is the host's contention, which this box cannot see otherwise, and it
 * stalls whatever was running on the stolen vCPU; each phase reports it beside its figures.
 */
function hostStealSeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/ +/);
  return Number(f[8]) / 100;
}

/** Runs a load phase and adds the cores' worth of steal time during it. */
async function withSteal<T extends object>(
  phase: () => Promise<T>,
): Promise<T & { host_steal_cores: number }> {
  const s0 = hostStealSeconds();
  const t0 = performance.now();
  const r = await phase();
  const cores = (hostStealSeconds() - s0) / ((performance.now() - t0) / 1000);
  return { ...r, host_steal_cores: Math.round(cores * 100) / 100 };
}

function cpuSeconds(pid: number): number {
  try {
    return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return Number.NaN;
  }
}

let seq = 0;
function load(url: string, pathname: string, opts: { duration: number; rate?: number; signed: boolean }) {
  const prefix = randomBytes(4).toString('hex');
  return autocannon({
    url,
    // A fixed rate over many connections makes autocannon send in bursts (a bare echo route shows p99 47 ms
    // at 1,000/s over 50 connections, 5 ms over 10), so the latency run uses 10.
    connections: opts.rate ? 10 : CONNECTIONS,
    duration: opts.duration,
    ...(opts.rate ? { overallRate: opts.rate } : {}),
    requests: [
      {
        method: 'POST',
        path: pathname,
        setupRequest: (req: autocannon.Request) => ({
          ...req,
          body: BODY,
          headers: signedHeaders(prefix, opts.signed),
        }),
      },
    ],
  });
}

function signedHeaders(prefix: string, signed: boolean): Record<string, string> {
  const id = `msg_${prefix}_${seq++}`;
  const ts = Math.floor(Date.now() / 1000);
  return {
    'content-type': 'application/json',
    ...(signed
      ? {
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': signStandardWebhook(SECRET, id, ts, BODY),
        }
      : {}),
  };
}

/**
 * Open-loop load at an even pace: request i is due at start + i/rate whatever the answers before it, and
 * its latency counts from that instant, so a late generator or a slow answer both show (no coordinated
 * omission). autocannon's fixed rate fires all its connections at the same instants, so 1,000/s over 10
 * connections arrives as bursts of 10 requests every 10 ms; this is the same rate spread evenly.
 */
async function paced(
  url: string,
  pathname: string,
  opts: { duration: number; rate: number; signed: boolean },
) {
  const prefix = randomBytes(4).toString('hex');
  const pool = new Pool(url, { connections: 128 });
  let non2xx = 0;
  let errors = 0;
  const total = Math.round(opts.rate * opts.duration);
  const start = performance.now() + 20;
  // Latencies by the 100-ms window their request was due in, and the windows in which the host stole
  // time: the p99 outside those windows (and their neighbours) shows what the host's contention adds.
  const WINDOW_MS = 100;
  const byWindow = new Map<number, number[]>();
  const stolen = new Set<number>();
  let lastSteal = hostStealSeconds();
  const sampler = setInterval(() => {
    const v = hostStealSeconds();
    if (v > lastSteal) stolen.add(Math.floor((performance.now() - start) / WINDOW_MS));
    lastSteal = v;
  }, WINDOW_MS);
  const pending = new Set<Promise<void>>();
  let i = 0;
  while (i < total) {
    const now = performance.now();
    // Every request due by now goes out (a timer wakes about once a millisecond).
    for (; i < total; i++) {
      const due = start + (i * 1000) / opts.rate;
      if (due > now) break;
      const p = pool
        .request({ path: pathname, method: 'POST', headers: signedHeaders(prefix, opts.signed), body: BODY })
        .then(async (res) => {
          await res.body.dump();
          if (res.statusCode < 200 || res.statusCode > 299) non2xx++;
          const latency = performance.now() - due;
          const w = Math.floor((due - start) / WINDOW_MS);
          const inWindow = byWindow.get(w);
          if (inWindow) inWindow.push(latency);
          else byWindow.set(w, [latency]);
        })
        .catch(() => {
          errors++;
        })
        .finally(() => pending.delete(p));
      pending.add(p);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  clearInterval(sampler);
  const unstolen: number[] = [];
  for (const [w, xs] of byWindow)
    if (!stolen.has(w - 1) && !stolen.has(w) && !stolen.has(w + 1)) unstolen.push(...xs);
  const quantile = (xs: number[], f: number) =>
    Math.round((xs[Math.min(xs.length - 1, Math.floor(f * xs.length))] ?? NaN) * 10) / 10;
  const latencies = [...byWindow.values()].flat().sort((a, b) => a - b);
  unstolen.sort((a, b) => a - b);
  const q = (f: number) => quantile(latencies, f);
  return {
    target_per_s: opts.rate,
    requests_per_s: Math.round(latencies.length / elapsed),
    total_2xx: latencies.length - non2xx,
    non_2xx: non2xx,
    errors,
    latency_ms: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1) },
    // A diagnostic, not the figure: the requests due where the host stole no time nearby.
    windows_100ms: byWindow.size,
    windows_with_steal: [...byWindow.keys()].filter((w) => stolen.has(w)).length,
    outside_steal: { requests: unstolen.length, p99_ms: quantile(unstolen, 0.99) },
  };
}

type Result = Awaited<ReturnType<typeof autocannon>> & { host_steal_cores: number };
const summary = (r: Result) => ({
  requests_per_s: Math.round(r.requests.average),
  total_2xx: r['2xx'],
  non_2xx: r.non2xx,
  errors: r.errors,
  timeouts: r.timeouts,
  latency_ms: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
  host_steal_cores: r.host_steal_cores,
});

/**
 * The engine stand-in runs in a process of its own: answering thousands of dispatches a second in the
 * generator's process would delay the generator's own timing and show up as ack latency.
 */
async function startEngine() {
  const p = await start(
    // Only key counts are kept: every body retained made the stand-in's GC compete for the cores.
    ['--import', 'tsx', 'tools/stubEngine.ts', '--port', '0', '--record', 'keys'],
    {},
    /listening on (http:\/\/\S+)/,
    CPU?.load,
  );
  const stats = async () => {
    const r = await fetch(`${p.url}/_stub/stats`);
    return (await r.json()) as { distinct_keys: number; duplicate_keys: number };
  };
  return { ...p, stats };
}

/** What the service left in its database: events stored, and dispatches whose outcome is not succeeded. */
type Stored = { events: number; unfinished: number };
const COUNT_STORED = `SELECT (SELECT count(*)::int FROM events) AS events,
  (SELECT count(*)::int FROM dispatches WHERE status <> 'succeeded') AS unfinished`;

/** Cluster-wide counters of PostgreSQL: transactions committed in the database and WAL flushes. */
type WalCounters = { commits: number; syncs: number };
const READ_WAL_COUNTERS = `SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())::float8 AS commits,
  (SELECT wal_sync FROM pg_stat_wal)::float8 AS syncs`;
// Backends report their statistics at most once a second, when idle: wait that long before each reading.
const settledStats = () => new Promise((r) => setTimeout(r, 1_500));

async function runBackend(
  name: string,
  env: Record<string, string>,
  countStored: () => Promise<Stored>,
  walCounters?: () => Promise<WalCounters>,
) {
  const engine = await startEngine();
  const engineUrl = engine.url;
  const svc = await start(
    // The built service, as `npm start` runs it: from source through tsx the process also holds tsx's
    // loader thread and the sources' transforms, and its ack p99 at 1,000/s was about 7 ms higher.
    ['dist/src/main.js'],
    { PORT: '0', LOG_LEVEL: 'info', WORKFLOW_ENGINE_URL: engineUrl, DISPATCH_CONCURRENCY: '128', ...env },
    /"address":"(http:\/\/[^"]+)"/,
    CPU?.server,
  );
  let acked = 0;
  let result: Record<string, unknown>;
  try {
    const spec = {
      metadata: { id: 'bench', name: 'bench', created_by: 'bench', created_time: 0 },
      nodes: [
        {
          id: 'hook',
          type: 'TRIGGER',
          subtype: 'WEBHOOK',
          configurations: {
            webhook_path: '/webhook/bench',
            authentication: 'signature',
            auth_token: SECRET,
            resume_mode: 'never',
          },
        },
      ],
      connections: [],
    };
    const dep = await fetch(`${svc.url}/api/v1/deployment/workflows/bench/deploy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workflow_spec: spec }),
    });
    if (dep.status !== 200) throw new Error(`deploy failed: ${await dep.text()}`);
    const drain = async (target: number) => {
      const t0 = Date.now();
      const deadline = t0 + 300_000;
      while ((await engine.stats()).distinct_keys < target && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      return (Date.now() - t0) / 1000;
    };
    const warm = await load(svc.url, '/api/v1/public/webhook/bench', { duration: WARMUP, signed: true });
    await drain(warm['2xx']);
    // Ack latency at a fixed rate on an idle outbox, then the maximum rate, then the time the outbox takes
    // to deliver that backlog to the engine.
    await settledStats();
    const wal0 = await walCounters?.();
    const fixed = await withSteal(() =>
      load(svc.url, '/api/v1/public/webhook/bench', { duration: DURATION, rate: RATE, signed: true }),
    );
    await drain(warm['2xx'] + fixed['2xx']);
    await settledStats();
    const wal1 = await walCounters?.();
    // Transactions and WAL flushes per 1,000 events at the fixed rate, delivery and outcomes included.
    const per1000 = (k: keyof WalCounters) =>
      wal0 && wal1 ? Math.round((1000 * (wal1[k] - wal0[k])) / fixed['2xx']) : undefined;
    const even = await withSteal(() =>
      paced(svc.url, '/api/v1/public/webhook/bench', { duration: DURATION, rate: RATE, signed: true }),
    );
    await drain(warm['2xx'] + fixed['2xx'] + even.total_2xx);
    const cpu0 = cpuSeconds(svc.pid);
    const pg0 = postgresCpuSeconds();
    const engine0 = cpuSeconds(engine.pid);
    const gen0 = process.cpuUsage();
    const t0 = Date.now();
    const before = (await engine.stats()).distinct_keys;
    const max = await withSteal(() =>
      load(svc.url, '/api/v1/public/webhook/bench', { duration: DURATION, signed: true }),
    );
    const elapsed = (Date.now() - t0) / 1000;
    const cpu = (cpuSeconds(svc.pid) - cpu0) / elapsed;
    const pgCpu = (postgresCpuSeconds() - pg0) / elapsed;
    const engineCpu = (cpuSeconds(engine.pid) - engine0) / elapsed;
    const gen = process.cpuUsage(gen0);
    const genCpu = (gen.user + gen.system) / 1e6 / elapsed;
    acked = warm['2xx'] + max['2xx'] + fixed['2xx'] + even.total_2xx;
    const drainS = await drain(acked);
    const deliveryRate = Math.round(((await engine.stats()).distinct_keys - before) / (elapsed + drainS));
    result = {
      backend: name,
      max_throughput: {
        ...summary(max),
        service_cpu_cores: Math.round(cpu * 100) / 100,
        // PostgreSQL's processes (0 on PGlite, which runs inside the service).
        postgres_cpu_cores: Math.round(pgCpu * 100) / 100,
        generator_cpu_cores: Math.round(genCpu * 100) / 100,
        engine_stand_in_cpu_cores: Math.round(engineCpu * 100) / 100,
        outbox_drained_after_s: Math.round(drainS * 10) / 10,
        delivered_per_s: deliveryRate,
      },
      fixed_rate: {
        target_per_s: RATE,
        ...summary(fixed),
        commits_per_1000_events: per1000('commits'),
        wal_syncs_per_1000_events: per1000('syncs'),
      },
      even_rate: even,
    };
  } finally {
    await stop(svc);
  }
  const final = await engine.stats();
  await stop(engine);
  const stored = await countStored();
  return {
    ...result,
    durability: {
      acked_2xx: acked,
      events_stored: stored.events,
      // Every delivery's outcome written once the service stopped (a stuck outcome writer leaves in_flight).
      dispatches_not_succeeded: stored.unfinished,
      delivered_to_engine: final.distinct_keys,
      duplicate_deliveries: final.duplicate_keys,
    },
  };
}

async function main() {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const results: Record<string, unknown>[] = [];
  const only = args.only?.split(',');
  if (!only || only.includes('echo')) {
    const echo = await start(
      ['--import', 'tsx', 'bench/ingest/echo.ts'],
      { PORT: '0' },
      /"address":"(http:\/\/[^"]+)"/,
      CPU?.server,
    );
    try {
      await load(echo.url, '/echo', { duration: WARMUP, signed: false });
      const max = await withSteal(() => load(echo.url, '/echo', { duration: DURATION, signed: false }));
      const fixed = await withSteal(() =>
        load(echo.url, '/echo', { duration: DURATION, rate: RATE, signed: false }),
      );
      const even = await withSteal(() =>
        paced(echo.url, '/echo', { duration: DURATION, rate: RATE, signed: false }),
      );
      results.push({
        backend: 'bare fastify echo',
        max_throughput: summary(max),
        fixed_rate: { target_per_s: RATE, ...summary(fixed) },
        even_rate: even,
      });
    } finally {
      await stop(echo);
    }
    console.log(JSON.stringify(results.at(-1), null, 2));
  }
  if (!only || only.includes('pglite')) {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-ingest-'));
    try {
      results.push(
        await runBackend('pglite', { DATA_DIR: dir }, async () => {
          // The service has stopped and released the data directory: count what it stored.
          const db = await openPglite({ dataDir: dir });
          try {
            const r = await db.query<Stored>(COUNT_STORED);
            return r.rows[0] ?? { events: 0, unfinished: -1 };
          } finally {
            await db.close();
          }
        }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(JSON.stringify(results.at(-1), null, 2));
  }
  if (!only || only.includes('postgres')) {
    const schema = `bench_${randomBytes(3).toString('hex')}`;
    const client = new pg.Client({ connectionString: args.pg });
    await client.connect();
    try {
      results.push(
        await runBackend(
          'postgres',
          { DATABASE_URL: args.pg!, DATABASE_SCHEMA: schema },
          async () => {
            await client.query(`SET search_path = ${schema}`);
            const r = await client.query(COUNT_STORED);
            return r.rows[0] as Stored;
          },
          async () => (await client.query(READ_WAL_COUNTERS)).rows[0] as WalCounters,
        ),
      );
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
    console.log(JSON.stringify(results.at(-1), null, 2));
  }
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  const file = path.join(
    ROOT,
    'bench/results',
    `ingest-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  writeFileSync(file, JSON.stringify({ args, node: process.version, cpus: cpus().length, results }, null, 2));
  console.log(`written ${file}`);
}

await main();
