import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/db.js';
import { OUTCOME_WINDOW_MS } from '../../src/pipeline/dispatcher.js';
import { CARRY_MIN_BATCH } from '../../src/pipeline/ingestor.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { interceptQueries } from '../helpers/seams.js';
import { workflowSpec } from '../helpers/workflows.js';

const OUTCOME_WRITES = ['dispatch_complete', 'inbox_write_outcomes'] as const;
type OutcomeWrite = (typeof OUTCOME_WRITES)[number];

/**
 * The database seen through the statements that write dispatch outcomes: how many outcome rows each
 * carried, an injected failure of the inbox write that carries outcomes, and a hold on every inbox write
 * (an ingest commit kept under way while the test arranges what happens meanwhile).
 */
function observed(db: Db) {
  const o = {
    /** Outcome rows (dispatch ids) each statement wrote. */
    rows: { dispatch_complete: [], inbox_write_outcomes: [] } as Record<OutcomeWrite, string[]>,
    failCarrying: false,
    failed: 0,
    hold: null as Promise<void> | null,
    held: 0,
    /** Added to each dispatch_complete (a database busy with other work), with when each began and ended. */
    completeDelayMs: 0,
    completeTimes: [] as [number, number][],
    db: undefined as unknown as Db,
  };
  o.db = interceptQueries(db, async (q, text, params) => {
    const name = typeof text === 'string' ? '' : text.name;
    if (name.startsWith('inbox_write') && o.hold) {
      o.held++;
      await o.hold;
    }
    if (!OUTCOME_WRITES.includes(name as OutcomeWrite)) return q.query(text, params);
    if (name === 'inbox_write_outcomes' && o.failCarrying) {
      o.failed++;
      throw new Error('injected write failure');
    }
    const began = performance.now();
    if (name === 'dispatch_complete' && o.completeDelayMs > 0)
      await new Promise((r) => setTimeout(r, o.completeDelayMs));
    const r = await q.query(text, params);
    if (name === 'dispatch_complete') o.completeTimes.push([began, performance.now()]);
    // The outcome ids are the statement's last parameter (completionParams).
    o.rows[name as OutcomeWrite].push(...((params ?? []).at(-1) as string[]));
    return r;
  });
  return o;
}

describe('outcomes carried by the inbox write', () => {
  let h: Harness;
  let obs: ReturnType<typeof observed>;
  beforeAll(async () => {
    h = await startHarness({
      wrapDb: (inner) => {
        obs = observed(inner);
        return obs.db;
      },
    });
    const r = await h.api('POST', '/api/v1/deployment/workflows/wf-carry/deploy', {
      workflow_spec: workflowSpec('wf-carry', [{ id: 'hook', subtype: 'WEBHOOK' }]),
    });
    expect(r.statusCode).toBe(200);
  });
  afterAll(async () => {
    await h?.close();
  });

  const post = (tag: string) =>
    h.inject({ method: 'POST', url: '/api/v1/public/webhook/wf-carry', payload: { tag } });

  async function dispatchOf(eventId: string): Promise<{ id: string; status: string }> {
    const ev = (await h.api('GET', `/api/v1/events/${eventId}`)).json();
    return ev.dispatches[0];
  }
  const statusOf = async (eventId: string) => (await dispatchOf(eventId)).status;

  /**
   * Event B's engine call is answered while event A's inbox write is held and a batch of C events (as
   * many as a write needs to carry outcomes) waits for A's commit; then A's write is released. B's
   * outcome is waiting when the C batch's write starts.
   */
  async function outcomeWaitingBehindAWrite(tag: string) {
    let answer!: () => void;
    h.engine.behaviour.gate = new Promise<void>((r) => (answer = r));
    const calls = h.engine.executeCalls().length;
    const b = await post(`${tag}-b`);
    expect(b.statusCode).toBe(202);
    await h.until(() => h.engine.executeCalls().length === calls + 1);
    let release!: () => void;
    obs.hold = new Promise<void>((r) => (release = r));
    obs.held = 0;
    const a = post(`${tag}-a`);
    await h.until(() => obs.held === 1);
    const cs = Array.from({ length: CARRY_MIN_BATCH }, (_, i) => post(`${tag}-c${i}`));
    await h.until(() => h.services.ingestor.waiting === CARRY_MIN_BATCH);
    h.engine.behaviour.gate = null;
    answer();
    await h.until(
      () =>
        h.services.dispatcher.stats().unwritten === 1 || obs.rows.dispatch_complete.length + obs.failed > 0,
    );
    obs.hold = null;
    release();
    return { a: await a, b, cs: await Promise.all(cs) };
  }

  it('writes an outcome with the next batch of events instead of a statement of its own', async () => {
    const { a, b, cs } = await outcomeWaitingBehindAWrite('one');
    expect([a, ...cs].map((r) => r.statusCode)).toEqual(Array(CARRY_MIN_BATCH + 1).fill(202));
    await h.until(async () => (await statusOf(b.json().event_id)) === 'succeeded');
    // B's outcome rode on the write of the C batch; nothing wrote it on its own.
    const bId = (await dispatchOf(b.json().event_id)).id;
    expect(obs.rows.inbox_write_outcomes).toContain(bId);
    expect(obs.rows.dispatch_complete).not.toContain(bId);
    for (const r of [a, ...cs])
      await h.until(async () => (await statusOf(r.json().event_id)) === 'succeeded');
    expect(h.engine.duplicateKeys()).toEqual([]);
  }, 30_000);

  it('gives carried outcomes back when that write fails, and writes them once it can', async () => {
    obs.failCarrying = true;
    const { a, b, cs } = await outcomeWaitingBehindAWrite('two');
    obs.failCarrying = false;
    // The write that carried B's outcome failed; its events were then committed one by one, without
    // outcomes, and nothing was half-stored.
    expect(obs.failed).toBeGreaterThanOrEqual(1);
    expect([a, ...cs].map((r) => r.statusCode)).toEqual(Array(CARRY_MIN_BATCH + 1).fill(202));
    const bId = (await dispatchOf(b.json().event_id)).id;
    await h.until(async () => (await statusOf(b.json().event_id)) === 'succeeded');
    // Given back, then written on its own.
    expect(obs.rows.dispatch_complete).toContain(bId);
    for (const r of [a, ...cs])
      await h.until(async () => (await statusOf(r.json().event_id)) === 'succeeded');
    const rows = await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM dispatches`);
    expect(h.engine.executeCalls()).toHaveLength(rows.rows[0]!.n);
    expect(h.engine.duplicateKeys()).toEqual([]);
  }, 30_000);

  it('starts its own outcome writes a window after the previous one ended, while answers keep coming', async () => {
    obs.completeDelayMs = 30;
    obs.completeTimes = [];
    const ids: string[] = [];
    const until = performance.now() + 500;
    // One event at a time: every commit takes one, too few to carry outcomes.
    while (performance.now() < until) {
      const r = await post('paced');
      expect(r.statusCode).toBe(202);
      ids.push(r.json().event_id);
      await new Promise((r) => setTimeout(r, 3));
    }
    for (const id of ids) await h.until(async () => (await statusOf(id)) === 'succeeded');
    obs.completeDelayMs = 0;
    const t = obs.completeTimes;
    expect(t.length).toBeGreaterThan(2);
    // Each write took 30 ms, in which answers arrived: the next began a window later, not at once (less
    // the few milliseconds by which a timer of the event loop, whose time is cached, may go off early).
    const gaps = t.slice(1).map(([began], i) => began - t[i]![1]);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(OUTCOME_WINDOW_MS - 3);
    expect(t.length).toBeLessThan(ids.length / 3);
    expect(h.engine.duplicateKeys()).toEqual([]);
  }, 30_000);
});
