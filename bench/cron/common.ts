import { readFileSync } from 'node:fs';

/** Shared by the benchmark and its peer scripts: expressions, statistics, CPU and memory probes. */

const MINUTE_VARIANTS = ['*', ...Array.from({ length: 57 }, (_, k) => `0-${k + 1},${k + 2}-59`)];
const HOUR_VARIANTS = ['*', ...Array.from({ length: 22 }, (_, j) => `0-${j + 1},${j + 2}-23`)];
const DOM_VARIANTS = ['*', ...Array.from({ length: 29 }, (_, d) => `1-${d + 1},${d + 2}-31`)];

/**
 * Schedule i fires once a minute at second i % 60 (so the schedules are spread over the minute). Its
 * expression is one of `distinct` equivalent spellings (minute, hour and day lists that cover every value),
 * so the set of distinct parsed patterns is controlled without changing when anything fires.
 * `yearly` moves every schedule to January 1st (none due: the idle phase).
 */
export function expressionFor(i: number, distinct: number, yearly = false): string {
  const variants = Math.max(1, Math.ceil(distinct / 60));
  const v = Math.floor(i / 60) % variants;
  const nm = MINUTE_VARIANTS.length;
  const nh = HOUR_VARIANTS.length;
  const m = MINUTE_VARIANTS[v % nm]!;
  const h = HOUR_VARIANTS[Math.floor(v / nm) % nh]!;
  const d = DOM_VARIANTS[Math.floor(v / (nm * nh)) % DOM_VARIANTS.length]!;
  return yearly ? `${i % 60} ${m} ${h} 1 1 *` : `${i % 60} ${m} ${h} ${d} * *`;
}

/** How many distinct expressions expressionFor yields for n schedules. */
export function distinctCount(n: number, distinct: number): number {
  return Math.min(n, 60 * Math.max(1, Math.ceil(distinct / 60)));
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summary(values: number[]): { n: number; p50: number; p99: number; max: number } {
  const a = Float64Array.from(values).sort();
  return {
    n: a.length,
    p50: percentile(a, 50),
    p99: percentile(a, 99),
    max: a.length ? a[a.length - 1]! : Number.NaN,
  };
}

/** utime + stime of this process in ms (/proc/self/stat, clock ticks of 10 ms). */
export function cpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
}

export async function measureCpu(ms: number): Promise<{ cpuMs: number; wallMs: number; percent: number }> {
  const c0 = cpuMs();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const wallMs = performance.now() - t0;
  const used = cpuMs() - c0;
  return { cpuMs: used, wallMs, percent: (100 * used) / wallMs };
}

export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with node --expose-gc (npm run bench:cron does)');
  g();
  g();
}

export function memory(): { heapUsed: number; rss: number } {
  gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
}

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
