import { Cron } from 'croner';

/**
 * CONTRACT between the cron time semantics (this file, config.ts, jitter.ts) and the scheduler runtime.
 * The runtime only calls what is exported here. A first croner-backed version; DST policy, caching of
 * parsed patterns and the exact cronie semantics are filled in behind the same signatures.
 */

/** What happens to fire times inside a DST gap (skipped hour) and overlap (repeated hour). */
export interface DstPolicy {
  /** 'shift' (default, as cronie): a time in the gap fires once, right after the jump. 'skip': it does not fire. */
  gap: 'shift' | 'skip';
  /** 'first' (default, as cronie): a time in the repeated hour fires once, at its first occurrence. 'both': twice. */
  overlap: 'first' | 'both';
}

export const DEFAULT_DST_POLICY: DstPolicy = { gap: 'shift', overlap: 'first' };

export interface CompiledSchedule {
  readonly expression: string;
  readonly timezone: string;
  readonly dst: DstPolicy;
  /** The first nominal fire instant (epoch ms) strictly after afterMs, or null when there is none. */
  nextAfter(afterMs: number): number | null;
  /** Nominal fire instants in (fromMs, toMs], ascending, at most limit. */
  between(fromMs: number, toMs: number, limit: number): number[];
}

export function compileSchedule(expression: string, timezone: string, dst: DstPolicy = DEFAULT_DST_POLICY): CompiledSchedule {
  const cron = new Cron(expression, { timezone, paused: true, mode: 'auto' });
  return {
    expression,
    timezone,
    dst,
    nextAfter(afterMs) {
      const next = cron.nextRun(new Date(afterMs));
      return next ? next.getTime() : null;
    },
    between(fromMs, toMs, limit) {
      const out: number[] = [];
      let t = fromMs;
      while (out.length < limit) {
        const n = this.nextAfter(t);
        if (n === null || n > toMs) break;
        out.push(n);
        t = n;
      }
      return out;
    },
  };
}
