import type { CompiledSchedule } from './schedule.js';

/**
 * Deterministic jitter (protocols.md §6.4): a delay after the nominal time, from a hash of (trigger key,
 * nominal time), so every replica and every restart picks the same effective instant. The nominal time
 * stays the fire's identity. The result is in [0, min(jitterSeconds s, maxMs)), so with maxMs set to the
 * interval to the next fire (jitterBoundMs) a jittered fire always happens before the next nominal time.
 */
export function jitterMs(
  triggerKey: string,
  nominalMs: number,
  jitterSeconds: number,
  maxMs?: number,
): number {
  const bound = Math.min(Math.max(0, Math.floor(jitterSeconds * 1000)), maxMs ?? Number.POSITIVE_INFINITY);
  if (!(bound >= 1)) return 0;
  // FNV-1a, 32 bit, then murmur3's finaliser so nearby inputs (consecutive nominal times) spread evenly.
  let h = 0x811c9dc5;
  const s = `${triggerKey}|${nominalMs}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return Math.floor(((h >>> 0) / 0x1_0000_0000) * Math.floor(bound));
}

/**
 * The bound for jitterMs at this nominal time: the configured maximum, but below the interval to the next
 * fire (a per-second schedule gets under one second, so jitter never reorders or merges fires).
 */
export function jitterBoundMs(schedule: CompiledSchedule, nominalMs: number, jitterSeconds: number): number {
  const max = Math.max(0, Math.floor(jitterSeconds * 1000));
  if (max === 0) return 0;
  const next = schedule.nextAfter(nominalMs);
  return next === null ? max : Math.min(max, next - nominalMs);
}

/** The effective (jittered) instant of a fire, bounded as jitterBoundMs says. */
export function effectiveFireMs(
  schedule: CompiledSchedule,
  triggerKey: string,
  nominalMs: number,
  jitterSeconds: number,
): { effectiveMs: number; jitterMs: number } {
  const j = jitterMs(triggerKey, nominalMs, jitterSeconds, jitterBoundMs(schedule, nominalMs, jitterSeconds));
  return { effectiveMs: nominalMs + j, jitterMs: j };
}
