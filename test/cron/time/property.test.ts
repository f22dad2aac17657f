import { Cron } from 'croner';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clearCronCaches,
  compileSchedule,
  type DstPolicy,
  zoneTransitions,
} from '../../../src/triggers/cron/schedule.js';

const ZONES = [
  'UTC',
  'America/New_York',
  'Europe/Berlin',
  'Australia/Lord_Howe',
  'America/Santiago',
  'Asia/Beirut',
  'Pacific/Chatham',
  'America/St_Johns',
  'Asia/Kolkata',
  'Europe/London',
  'Australia/Sydney',
  'America/Havana',
];
const POLICIES: DstPolicy[] = [
  { gap: 'shift', overlap: 'first' },
  { gap: 'skip', overlap: 'first' },
  { gap: 'shift', overlap: 'both' },
  { gap: 'skip', overlap: 'both' },
];

const seconds = fc.constantFrom('', '0 ', '30 ', '*/15 ', '*/7 ', '0,45 ');
const minutes = fc.constantFrom('0', '30', '45', '*', '*/15', '*/7', '0,30', '5-10', '59');
const hours = fc.constantFrom('*', '0', '1', '2', '3', '23', '1-3', '*/2', '0,2', '12');
const days = fc.constantFrom(
  '* * *',
  '* * *',
  '1 * *',
  '15 * *',
  'L * *',
  '* * 0',
  '* * 1-5',
  '29 2 *',
  '31 * *',
  '1,15 * 5',
  '* * 7',
);
const expressions = fc.tuple(seconds, minutes, hours, days).map(([s, m, h, d]) => `${s}${m} ${h} ${d}`);
const zones = fc.constantFrom(...ZONES);
const policies = fc.constantFrom(...POLICIES);

/** Instants in 2025–2029, half of them within 3 hours of one of the zone's transitions. */
function instantIn(tz: string) {
  const transitions = zoneTransitions(tz, Date.UTC(2025, 0, 1), Date.UTC(2030, 0, 1));
  const anywhere = fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2030, 0, 1) });
  if (transitions.length === 0) return anywhere;
  return fc.oneof(
    anywhere,
    fc
      .tuple(fc.constantFrom(...transitions), fc.integer({ min: -3 * 3_600_000, max: 3 * 3_600_000 }))
      .map(([t, d]) => t.at + d),
  );
}

describe('nextAfter properties (fast-check)', () => {
  it('is strictly after its argument and stable until the fire it returns', () => {
    fc.assert(
      fc.property(
        expressions,
        zones.chain((tz) => fc.tuple(fc.constant(tz), instantIn(tz))),
        policies,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (expr, [tz, t], dst, frac) => {
          const s = compileSchedule(expr, tz, dst);
          const n = s.nextAfter(t);
          if (n === null) return;
          expect(n).toBeGreaterThan(t);
          // Any t' in [t, n) has the same next fire, computed afresh (the memos would answer it trivially).
          const t2 = Math.min(t + Math.floor((n - t) * frac), n - 1);
          clearCronCaches();
          expect(compileSchedule(expr, tz, dst).nextAfter(t2)).toBe(n);
          clearCronCaches();
          expect(compileSchedule(expr, tz, dst).nextAfter(n - 1)).toBe(n);
        },
      ),
      { numRuns: 400, seed: 20_261_101 },
    );
  });
});

// ------------------------------------------------------------------------------------------------------
// An independent oracle for minute-resolution expressions: walk every UTC minute, read the local time with
// Intl.DateTimeFormat parts (not the code under test), and apply the rule literally.

const fmt = new Map<string, Intl.DateTimeFormat>();
function localWall(tz: string, t: number): number {
  let f = fmt.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    fmt.set(tz, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(t)) p[part.type] = Number(part.value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!);
}

function oracle(expr: string, tz: string, dst: DstPolicy, from: number, to: number): number[] {
  const fixed = !/[*/]/.test(expr.split(' ').slice(0, 2).join(' '));
  const walls = new Set(
    new Cron(expr, { utcOffset: 0 })
      .nextRuns(5000, new Date(from - 2 * 86_400_000))
      .map((d) => d.getTime())
      .filter((w) => w < to + 2 * 86_400_000),
  );
  const out: number[] = [];
  const seen = new Set<number>();
  let prevWall = localWall(tz, from - 4 * 3_600_000 - 60_000);
  for (let t = from - 4 * 3_600_000; t < to; t += 60_000) {
    const w = localWall(tz, t);
    let fire = false;
    if (w > prevWall + 60_000 && fixed && dst.gap === 'shift')
      for (let g = prevWall + 60_000; g < w; g += 60_000) if (walls.has(g)) fire = true;
    if (walls.has(w) && !(seen.has(w) && fixed && dst.overlap === 'first')) fire = true;
    seen.add(w);
    prevWall = w;
    if (fire && t > from) out.push(t);
  }
  return out;
}

describe('agrees with a brute-force oracle around DST changes', () => {
  it('for random 5-field expressions, zones and policies', () => {
    const minuteExpr = fc
      .tuple(minutes, hours, fc.constantFrom('* * *', '* * 0', '1 * *', '* * 1-5'))
      .map(([m, h, d]) => `${m} ${h} ${d}`);
    const dstZones = ZONES.filter(
      (z) => zoneTransitions(z, Date.UTC(2026, 0, 1), Date.UTC(2027, 0, 1)).length > 0,
    );
    const cases = fc
      .constantFrom(...dstZones)
      .chain((tz) =>
        fc.tuple(
          fc.constant(tz),
          fc.constantFrom(...zoneTransitions(tz, Date.UTC(2026, 0, 1), Date.UTC(2028, 0, 1))),
        ),
      );
    fc.assert(
      fc.property(minuteExpr, cases, policies, (expr, [tz, tr], dst) => {
        const from = tr.at - 26 * 3_600_000;
        const to = tr.at + 26 * 3_600_000;
        const got = compileSchedule(expr, tz, dst).between(from, to - 1, 10_000);
        expect(got).toEqual(oracle(expr, tz, dst, from, to));
      }),
      { numRuns: 60, seed: 20_270_314 },
    );
  });
});
