/**
 * bench/cron/nextAfter: speed and memory of the cron time semantics (src/triggers/cron/schedule.ts).
 *
 *   node --expose-gc --import tsx bench/cron/nextAfter.ts [--seconds 1]
 *
 * - nextAfter ops/s per expression, three ways: `cold` (a random instant each call: no memo helps),
 *   `sequential` (the runtime's pattern: next after the previous fire) and `shared` (many triggers of one
 *   schedule asking about the same instant: the memo answers). Next to croner's own nextRun with the
 *   zone given to croner, the way one would use croner directly.
 * - compile: distinct new expressions parsed per second.
 * - memory: heap per parsed pattern, and for 100k schedules with 1,000 distinct expressions and with
 *   every expression distinct (the pattern cache keeps at most its limit parsed).
 * - planCatchup for a per-second schedule after a 30-day outage.
 * Results go to stdout and bench/results/cron-nextAfter-<timestamp>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Cron } from 'croner';
import { planCatchup } from '../../src/triggers/cron/catchup.js';
import {
  type CompiledSchedule,
  clearCronCaches,
  compileSchedule,
  cronCacheStats,
} from '../../src/triggers/cron/schedule.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '1' } } });
const SECONDS = Number(args.seconds);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.warn('run with node --expose-gc for memory figures');

const T0 = Date.UTC(2026, 0, 1);
const YEAR = 365 * 86_400_000;
let sink = 0;

/** Calls fn repeatedly for SECONDS; returns calls per second. */
function rate(fn: (i: number) => void): number {
  for (let i = 0; i < 2000; i++) fn(i); // warm-up
  const deadline = performance.now() + SECONDS * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < deadline) for (let k = 0; k < 200; k++) fn(n++);
  return Math.round(n / ((performance.now() - start) / 1000));
}

const CASES: [string, string][] = [
  ['0 9 * * 1-5', 'America/New_York'],
  ['*/15 * * * *', 'Europe/Berlin'],
  ['* * * * * *', 'UTC'],
  ['30 2 * * *', 'America/New_York'],
  ['30 4 1,15 * 5', 'Australia/Lord_Howe'],
  ['0 0 29 2 *', 'Europe/Berlin'],
  ['0 0 L * *', 'America/Santiago'],
];

const rows: Record<string, unknown>[] = [];
console.log(`nextAfter, ops/s (${SECONDS} s each; Node ${process.version})`);
console.log(
  'expression'.padEnd(16),
  'zone'.padEnd(20),
  'cold'.padStart(9),
  'sequential'.padStart(11),
  'shared'.padStart(11),
  'croner+tz'.padStart(10),
);
for (const [expr, tz] of CASES) {
  const s = compileSchedule(expr, tz);
  let rnd = 12345;
  const random = () => {
    rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
    return T0 + (rnd / 2 ** 32) * YEAR;
  };
  const cold = rate(() => {
    sink += s.nextAfter(random()) ?? 0;
  });
  // Fire after fire through 2026, then again: the runtime's pattern (zone tables stay warm).
  let t = T0;
  const sequential = rate(() => {
    const n = s.nextAfter(t);
    t = n === null || n > T0 + YEAR ? T0 : n;
  });
  const fixed = T0 + 1234;
  const shared = rate(() => {
    sink += s.nextAfter(fixed) ?? 0;
  });
  const croner = new Cron(expr, { timezone: tz, paused: true });
  const cronerRate = rate(() => {
    sink += croner.nextRun(new Date(random()))?.getTime() ?? 0;
  });
  rows.push({ expression: expr, zone: tz, cold, sequential, shared, croner_with_zone: cronerRate });
  console.log(
    expr.padEnd(16),
    tz.padEnd(20),
    String(cold).padStart(9),
    String(sequential).padStart(11),
    String(shared).padStart(11),
    String(cronerRate).padStart(10),
  );
}

// Distinct new expressions: parse + first nextAfter.
let k = 0;
const compile = rate(() => {
  const n = k++;
  const s = compileSchedule(
    `${n % 60} ${Math.floor(n / 60) % 24} ${1 + (Math.floor(n / 1440) % 28)} * ${Math.floor(n / 40320) % 7}`,
    'Europe/Berlin',
  );
  sink += s.nextAfter(T0) ?? 0;
});
console.log(`\ncompile (distinct expressions, parse + first nextAfter): ${compile}/s`);

function heap(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** Heap growth per schedule for n schedules made by make(i), held like the runtime holds them. */
function memory(
  n: number,
  make: (i: number) => CompiledSchedule,
): { perScheduleBytes: number; totalMiB: number; ms: number } {
  clearCronCaches();
  const before = heap();
  const held: CompiledSchedule[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const s = make(i);
    sink += s.nextAfter(T0 + i * 1000) ?? 0;
    held.push(s);
  }
  const ms = Math.round(performance.now() - start);
  const grown = heap() - before;
  sink += held.length;
  return { perScheduleBytes: Math.round(grown / n), totalMiB: Math.round((grown / 2 ** 20) * 10) / 10, ms };
}

const expr = (i: number) => `${i % 60} ${Math.floor(i / 60) % 24} * * ${Math.floor(i / 1440) % 7}`;
const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney'];
const mem = {
  perPattern: memory(2000, (i) => compileSchedule(expr(i), 'UTC')),
  k100_1000distinct: memory(100_000, (i) => compileSchedule(expr(i % 1000), zones[i % 5]!)),
  // Every expression distinct: 6 fields, the seconds field varies too, 100k different strings.
  k100_allDistinct: memory(100_000, (i) =>
    compileSchedule(`${i % 60} ${expr(Math.floor(i / 60))}`, zones[i % 5]!),
  ),
};
console.log('\nmemory (heap growth, schedules held):');
console.log(`  one parsed pattern each (2,000):               ${mem.perPattern.perScheduleBytes} B/schedule`);
console.log(
  `  100k schedules, 1,000 expressions × 5 zones:   ${mem.k100_1000distinct.perScheduleBytes} B/schedule, ${mem.k100_1000distinct.totalMiB} MiB, built in ${mem.k100_1000distinct.ms} ms`,
);
console.log(
  `  100k schedules, every expression distinct:     ${mem.k100_allDistinct.perScheduleBytes} B/schedule, ${mem.k100_allDistinct.totalMiB} MiB, built in ${mem.k100_allDistinct.ms} ms`,
);
console.log('  cache:', JSON.stringify(cronCacheStats()));

const perSecond = compileSchedule('* * * * * *', 'Europe/Berlin');
const catchupMs: number[] = [];
let plan: ReturnType<typeof planCatchup> | undefined;
// First call computes the zone's tables (the caches were just cleared), the others are warm.
for (let i = 0; i < 3; i++) {
  const started = performance.now();
  plan = planCatchup(perSecond, {
    lastNominalMs: T0,
    nowMs: T0 + 30 * 86_400_000,
    windowSeconds: 3600,
    policy: 'all',
    maxRuns: 10,
  });
  catchupMs.push(Math.round((performance.now() - started) * 10) / 10);
}
console.log(
  `\nplanCatchup, per-second schedule, 30-day outage: ${catchupMs.join(' / ')} ms (cold / warm / warm; ${plan?.fire.length} fires, ${plan?.missed.length} missed rows)`,
);

const out = {
  node: process.version,
  seconds: SECONDS,
  nextAfter: rows,
  compilePerSecond: compile,
  memory: mem,
  catchupMs,
};
mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
const file = path.join(
  ROOT,
  `bench/results/cron-nextAfter-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`\n${file} (${sink > 0 ? 'ok' : ''})`);
