import type { Logger } from '../../logger.js';
import { SlotHeap } from './heap.js';
import { ScheduleTable } from './slots.js';
import type { ScheduleRow, SeedRow } from './store.js';

export interface NextTick {
  next: number | null;
  nextEffective: number | null;
}

/**
 * The loop's data: the slot table and the heap of next effective instants, and how a slot is (re)placed
 * in it from a database row or after a fire. Pure in-memory; the runtime does the I/O.
 */
export class LoopState {
  readonly table = new ScheduleTable();
  readonly heap = new SlotHeap();

  constructor(private readonly logger: Logger) {}

  /** Puts the slot back in the heap at `nominal` (null: the schedule has no more fires). */
  scheduleNext(slot: number, nominal: number | null): NextTick {
    const t = this.table;
    if (nominal === null || !Number.isFinite(nominal)) {
      t.next[slot] = Number.NaN;
      t.aheadLen[slot] = 0;
      this.heap.remove(slot);
      return { next: null, nextEffective: null };
    }
    // The following tick bounds the jitter (jitter.ts); only needed when there is jitter.
    const following =
      t.jitterSec[slot]! > 0 ? (t.upcoming(slot, nominal) ?? Number.POSITIVE_INFINITY) : Number.NaN;
    t.next[slot] = nominal;
    const effective = t.effective(slot, nominal, following);
    this.heap.set(slot, effective);
    return { next: nominal, nextEffective: effective };
  }

  /**
   * Adds or reconfigures the slot of an active trigger row; returns its slot, or -1 when the row is not
   * active (paused) or cannot be scheduled. Newly computed starting points are pushed to `seeds`.
   */
  applyRow(r: ScheduleRow, seeds: SeedRow[]): number {
    if (!r.active) return -1;
    const t = this.table;
    let slot = t.find(r.workflowId, r.nodeId);
    try {
      if (slot < 0) {
        slot = t.add(r.triggerId, r.workflowId, r.nodeId, r.config);
        this.seed(slot, r, seeds, false);
        return slot;
      }
      t.triggerId[slot] = r.triggerId;
      const jitter = t.jitterSec[slot];
      if (t.configure(slot, r.config)) this.seed(slot, r, seeds, true);
      else if (jitter !== t.jitterSec[slot] && !Number.isNaN(t.next[slot]!))
        this.scheduleNext(slot, t.next[slot]!);
      return slot;
    } catch (err) {
      this.logger.error(
        { err, workflow_id: r.workflowId, node_id: r.nodeId },
        'cron: cannot schedule trigger',
      );
      if (slot >= 0) this.heap.remove(slot);
      return slot;
    }
  }

  /** Makes one workflow's slots match its rows: add, reconfigure, or remove (paused, undeployed). */
  applyWorkflow(workflowId: string, rows: readonly ScheduleRow[], seeds: SeedRow[]): void {
    const keep = new Set<number>();
    for (const r of rows) {
      const slot = this.applyRow(r, seeds);
      if (slot >= 0) keep.add(slot);
    }
    for (const slot of this.table.slotsOf(workflowId)) if (!keep.has(slot)) this.remove(slot);
  }

  remove(slot: number): void {
    this.heap.remove(slot);
    this.table.remove(slot);
  }

  /**
   * Where a slot resumes: after its newest fire record (whose row holds the next instants), or from its
   * start (deploy, resume, new definition: trigger_index.updated_at) using the stored seed when it is for
   * the same definition and start, else computing it once (the runtime stores it).
   */
  private seed(slot: number, r: ScheduleRow, seeds: SeedRow[], changed: boolean): void {
    const t = this.table;
    const spec = t.spec[slot]!;
    t.aheadLen[slot] = 0;
    if (!changed && r.lastNominal !== null && r.lastNominal >= r.updatedAt) {
      t.last[slot] = r.lastNominal;
      if (r.lastNext !== null && r.lastNextEffective !== null)
        this.place(slot, r.lastNext, r.lastNextEffective);
      else this.scheduleNext(slot, r.lastNext);
      return;
    }
    t.last[slot] = r.updatedAt;
    if (!changed && r.seedSpec === spec.key && r.seedSince === r.updatedAt) {
      if (r.seedNext !== null && r.seedNextEffective !== null)
        this.place(slot, r.seedNext, r.seedNextEffective);
      else this.scheduleNext(slot, r.seedNext);
      return;
    }
    // Only what the seed needs (the tick and the one after it, for the jitter bound): a first start may
    // compute this for every schedule.
    const next = this.scheduleNext(slot, t.upcoming(slot, r.updatedAt, 2));
    seeds.push({ workflowId: r.workflowId, nodeId: r.nodeId, spec: spec.key, since: r.updatedAt, ...next });
  }

  private place(slot: number, nominal: number, effective: number): void {
    this.table.next[slot] = nominal;
    this.heap.set(slot, effective);
  }
}
