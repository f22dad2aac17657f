import type { CronConfig } from './config.js';
import { jitterMs } from './jitter.js';
import { type CompiledSchedule, compileSchedule, type DstPolicy } from './schedule.js';

/** The DB/fingerprint form of a schedule's definition (as schedule.ts keys its cache). */
export function specKey(c: Pick<CronConfig, 'cron_expression' | 'timezone' | 'dst_policy'>): string {
  return `${c.dst_policy.gap}/${c.dst_policy.overlap}|${c.timezone}|${c.cron_expression}`;
}

/**
 * One distinct (expression, zone, DST policy), shared by every slot that uses it. Compiled on first use
 * only: a restore reads stored next instants and needs no parsing; schedule.ts bounds the parsed patterns.
 */
export class Spec {
  refs = 0;
  private compiled: CompiledSchedule | null = null;
  constructor(
    readonly key: string,
    readonly expression: string,
    readonly timezone: string,
    readonly dst: DstPolicy,
  ) {}

  get schedule(): CompiledSchedule {
    if (!this.compiled) this.compiled = compileSchedule(this.expression, this.timezone, this.dst);
    return this.compiled;
  }
}

const CATCHUP = ['skip', 'latest', 'all'] as const;
/** Nominal instants computed ahead per slot. */
export const AHEAD = 4;
const OVERLAP_SKIP = 4;

/**
 * Per-schedule state in parallel arrays indexed by slot number (typed arrays for numbers, plain arrays
 * for the three id strings): a few hundred bytes per schedule and no object per schedule.
 */
export class ScheduleTable {
  triggerId: string[] = [];
  workflowId: string[] = [];
  nodeId: string[] = [];
  spec: (Spec | undefined)[] = [];
  /** Next nominal instant (NaN: none). */
  next: Float64Array;
  /**
   * Upcoming nominal instants after `next`, AHEAD per slot, computed together: one pattern lookup (and,
   * for distinct expressions, one parse) serves several fires. aheadLen[slot] of them are valid.
   */
  ahead: Float64Array;
  aheadLen: Uint8Array;
  /** Last handled nominal instant, or where the schedule started counting. */
  last: Float64Array;
  jitterSec: Int32Array;
  windowSec: Int32Array;
  maxRuns: Int32Array;
  flags: Uint8Array;
  size = 0;
  private highWater = 0;
  private readonly free: number[] = [];
  private readonly byWorkflow = new Map<string, number | number[]>();
  private readonly specs = new Map<string, Spec>();

  constructor(private capacity = 1024) {
    this.next = new Float64Array(capacity);
    this.ahead = new Float64Array(capacity * AHEAD);
    this.aheadLen = new Uint8Array(capacity);
    this.last = new Float64Array(capacity);
    this.jitterSec = new Int32Array(capacity);
    this.windowSec = new Int32Array(capacity);
    this.maxRuns = new Int32Array(capacity);
    this.flags = new Uint8Array(capacity);
  }

  get distinctSpecs(): number {
    return this.specs.size;
  }

  add(triggerId: string, workflowId: string, nodeId: string, config: CronConfig): number {
    const slot = this.free.pop() ?? this.highWater++;
    if (slot >= this.capacity) this.grow();
    this.triggerId[slot] = triggerId;
    this.workflowId[slot] = workflowId;
    this.nodeId[slot] = nodeId;
    this.next[slot] = Number.NaN;
    this.aheadLen[slot] = 0;
    this.last[slot] = Number.NaN;
    this.configure(slot, config);
    const list = this.byWorkflow.get(workflowId);
    if (list === undefined) this.byWorkflow.set(workflowId, slot);
    else if (typeof list === 'number') this.byWorkflow.set(workflowId, [list, slot]);
    else list.push(slot);
    this.size++;
    return slot;
  }

  /** Applies a (re)deployed configuration; true when the schedule itself (expression, zone, DST) changed. */
  configure(slot: number, c: CronConfig): boolean {
    const key = specKey(c);
    const old = this.spec[slot];
    const changed = old?.key !== key;
    if (changed) {
      this.aheadLen[slot] = 0;
      if (old) this.release(old);
      let spec = this.specs.get(key);
      if (!spec) {
        spec = new Spec(key, c.cron_expression, c.timezone, c.dst_policy);
        this.specs.set(key, spec);
      }
      spec.refs++;
      this.spec[slot] = spec;
    }
    this.jitterSec[slot] = c.jitter_seconds;
    this.windowSec[slot] = c.catchup_window_seconds;
    this.maxRuns[slot] = c.max_missed_runs ?? 3;
    this.flags[slot] = CATCHUP.indexOf(c.catchup_policy) | (c.overlap_policy === 'skip' ? OVERLAP_SKIP : 0);
    return changed;
  }

  remove(slot: number): void {
    const wf = this.workflowId[slot]!;
    const list = this.byWorkflow.get(wf);
    if (typeof list === 'number') this.byWorkflow.delete(wf);
    else if (list) {
      const rest = list.filter((s) => s !== slot);
      this.byWorkflow.set(wf, rest.length === 1 ? rest[0]! : rest);
    }
    const spec = this.spec[slot];
    if (spec) this.release(spec);
    this.spec[slot] = undefined;
    this.triggerId[slot] = '';
    this.workflowId[slot] = '';
    this.nodeId[slot] = '';
    this.free.push(slot);
    this.size--;
  }

  slotsOf(workflowId: string): number[] {
    const list = this.byWorkflow.get(workflowId);
    return list === undefined ? [] : typeof list === 'number' ? [list] : [...list];
  }

  find(workflowId: string, nodeId: string): number {
    const list = this.byWorkflow.get(workflowId);
    if (list === undefined) return -1;
    if (typeof list === 'number') return this.nodeId[list] === nodeId ? list : -1;
    for (const s of list) if (this.nodeId[s] === nodeId) return s;
    return -1;
  }

  workflows(): IterableIterator<string> {
    return this.byWorkflow.keys();
  }

  catchupPolicy(slot: number): (typeof CATCHUP)[number] {
    return CATCHUP[this.flags[slot]! & 3] ?? 'latest';
  }

  overlapSkip(slot: number): boolean {
    return (this.flags[slot]! & OVERLAP_SKIP) !== 0;
  }

  /** nominal + deterministic jitter, bounded below the gap to the following fire (jitter.ts). */
  effective(slot: number, nominal: number, following: number): number {
    const js = this.jitterSec[slot]!;
    if (js <= 0) return nominal;
    const max = js * 1000;
    const bound = Number.isFinite(following) ? Math.min(max, following - nominal) : max;
    return nominal + jitterMs(this.jitterKey(slot), nominal, js, bound);
  }

  /**
   * The first nominal instant after `after` (null: none), from the slot's look-ahead when it covers
   * `after`, else computed with AHEAD more at once.
   */
  upcoming(slot: number, after: number, count = AHEAD): number | null {
    const base = slot * AHEAD;
    const n = this.aheadLen[slot]!;
    let i = 0;
    while (i < n && this.ahead[base + i]! <= after) i++;
    if (i < n) {
      if (i > 0) {
        this.ahead.copyWithin(base, base + i, base + n);
        this.aheadLen[slot] = n - i;
      }
      return this.ahead[base]!;
    }
    const list = this.spec[slot]!.schedule.between(after, Number.POSITIVE_INFINITY, Math.min(count, AHEAD));
    for (let k = 0; k < list.length; k++) this.ahead[base + k] = list[k]!;
    this.aheadLen[slot] = list.length;
    return list[0] ?? null;
  }

  jitterKey(slot: number): string {
    return `${this.workflowId[slot]}:${this.nodeId[slot]}`;
  }

  private release(spec: Spec): void {
    if (--spec.refs <= 0) this.specs.delete(spec.key);
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.next = f64(this.next);
    const ahead = new Float64Array(cap * AHEAD);
    ahead.set(this.ahead);
    this.ahead = ahead;
    const aheadLen = new Uint8Array(cap);
    aheadLen.set(this.aheadLen);
    this.aheadLen = aheadLen;
    this.last = f64(this.last);
    this.jitterSec = i32(this.jitterSec);
    this.windowSec = i32(this.windowSec);
    this.maxRuns = i32(this.maxRuns);
    const flags = new Uint8Array(cap);
    flags.set(this.flags);
    this.flags = flags;
    this.capacity = cap;
  }
}
