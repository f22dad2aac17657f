import { parseArgs } from 'node:util';
import { Cron } from 'croner';
import { cpuMs, expressionFor, memory, summary } from './common.js';

/**
 * Peer: one croner job (its own timer and parsed pattern) per schedule, the same expressions as the
 * scheduler bench. Prints one JSON line. Run by run.ts in a child process (it may run out of memory).
 */
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    distinct: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '20' },
    idle: { type: 'boolean', default: false },
  },
});
const n = Number(values.n);
const durationMs = Number(values.duration) * 1000;
const before = memory();
const lateness: number[] = [];
const started = Date.now();
const warm = started + 2_000;
const end = started + durationMs;
let fired = 0;
const jobs: Cron[] = [];
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const second = i % 60;
  jobs.push(
    new Cron(expressionFor(i, Number(values.distinct), values.idle), { timezone: 'UTC' }, () => {
      const now = Date.now();
      // The tick this call belongs to: the latest instant at this second of a minute.
      const due = now - ((((now - second * 1000) % 60_000) + 60_000) % 60_000);
      if (due >= warm && due <= end - 2_000) {
        fired++;
        lateness.push(now - due);
      }
    }),
  );
}
const armMs = performance.now() - t0;
const after = memory();
const c0 = cpuMs();
const w0 = performance.now();
await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now())));
const cpu = ((cpuMs() - c0) / (performance.now() - w0)) * 100;
for (const j of jobs) j.stop();
// Ticks due in [warm, end - 2 s]: each schedule once a minute at its second.
let expected = 0;
for (let t = Math.ceil(warm / 1000) * 1000; t <= end - 2_000; t += 1000) {
  const s = Math.floor((t % 60_000) / 1000);
  expected += values.idle ? 0 : Math.floor(n / 60) + (s < n % 60 ? 1 : 0);
}
process.stdout.write(
  `${JSON.stringify({
    peer: 'croner',
    n,
    armMs,
    heapPerJob: (after.heapUsed - before.heapUsed) / n,
    rssPerJob: (after.rss - before.rss) / n,
    cpuPercent: cpu,
    expected,
    fired,
    missed: Math.max(0, expected - fired),
    lateness: summary(lateness),
  })}\n`,
);
process.exit(0);
