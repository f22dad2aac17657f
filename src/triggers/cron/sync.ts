import type { Services } from '../../services.js';
import type { LoopState } from './state.js';
import { loadWorkflowSchedules, type SeedRow, streamSchedules, upsertSeeds } from './store.js';

/** Rows per FETCH: big enough for throughput, small enough that applying one batch never blocks long. */
const RESTORE_BATCH = 5_000;
const SEED_BATCH = 5_000;

/**
 * Keeps the loop's table equal to the database: the restore at start (and the reconciliation's full
 * reload) streams every active CRON trigger in one query; a change notification reloads one workflow.
 */
export class ScheduleSync {
  private readonly refreshing = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  /** Workflows refreshed while a full reload runs: the reload's snapshot may be older for them. */
  private fresher: Set<string> | null = null;

  constructor(
    private readonly s: Services,
    private readonly state: LoopState,
    private readonly changed: () => void,
  ) {}

  /**
   * Loads every active CRON trigger and makes the table match it. Returns the newest trigger change the
   * snapshot contained (reconciliation only needs to look after it).
   */
  async resync(): Promise<number> {
    const { db, clock } = this.s;
    const fresher = new Set<string>();
    this.fresher = fresher;
    const seen = new Set<number>();
    const seeds: SeedRow[] = [];
    let newest = 0;
    try {
      await streamSchedules(db, RESTORE_BATCH, (rows) => {
        for (const r of rows) {
          if (r.updatedAt > newest) newest = r.updatedAt;
          if (fresher.has(r.workflowId)) continue;
          const slot = this.state.applyRow(r, seeds);
          if (slot >= 0) seen.add(slot);
        }
      });
      const t = this.state.table;
      for (const wf of [...t.workflows()]) {
        if (fresher.has(wf)) continue;
        for (const slot of t.slotsOf(wf)) if (!seen.has(slot)) this.state.remove(slot);
      }
    } finally {
      this.fresher = null;
    }
    for (let i = 0; i < seeds.length; i += SEED_BATCH)
      await upsertSeeds(db, seeds.slice(i, i + SEED_BATCH), clock.now());
    this.changed();
    return newest;
  }

  /** Reloads one workflow's CRON triggers; concurrent calls for it coalesce into one more reload. */
  refresh(workflowId: string): Promise<void> {
    const current = this.refreshing.get(workflowId);
    if (current) {
      this.dirty.add(workflowId);
      return current;
    }
    const p = (async () => {
      do {
        this.dirty.delete(workflowId);
        this.fresher?.add(workflowId);
        const rows = await loadWorkflowSchedules(this.s.db, workflowId);
        const seeds: SeedRow[] = [];
        this.state.applyWorkflow(workflowId, rows, seeds);
        await upsertSeeds(this.s.db, seeds, this.s.clock.now());
      } while (this.dirty.has(workflowId));
    })().finally(() => {
      this.refreshing.delete(workflowId);
      this.changed();
    });
    this.refreshing.set(workflowId, p);
    return p;
  }

  async idle(): Promise<void> {
    await Promise.allSettled([...this.refreshing.values()]);
  }
}
