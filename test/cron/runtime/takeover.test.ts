import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import { listTriggersOfWorkflow } from '../../../src/db/triggers.sql.js';
import { type Harness, startHarness } from '../../helpers/harness.js';
import { deployCron, engineFires, fireRows } from './helpers.js';

/** A replica that claimed ticks and died before storing them: any replica finishes them after the lease. */
describe('expired claims', () => {
  let h: Harness;
  const clock = new ManualClock('2026-06-01T12:00:00Z');
  beforeAll(async () => {
    h = await startHarness({
      clock,
      env: { DISPATCH_POLL_INTERVAL_MS: '60000', CRON_CLAIM_LEASE_MS: '6000' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const claim = (nominal: string, leaseUntil: string) =>
    h.db.query(
      `INSERT INTO cron_fires (workflow_id, node_id, nominal_at, effective_at, source, outcome, recorded_at, claimed_by,
         lease_until) VALUES ('wf-orphan', 'cron_1', $1, $1, 'schedule', 'claimed', $1, 'dead-replica', $2)`,
      [nominal, leaseUntil],
    );

  it('stores a tick whose owner died after claiming it, once, and finishes one already stored', async () => {
    await deployCron(h, 'wf-orphan', { cron_expression: '0 0 1 1 *', jitter_seconds: 0 });
    // Died before the event: still in its lease, then expired.
    await claim('2026-06-01T11:59:00Z', '2026-06-01T12:00:03Z');
    // Died after the event was stored but before the outcome was written.
    const [t] = await listTriggersOfWorkflow(h.db, 'wf-orphan');
    const stored = await h.services.ingestor.ingest({
      kind: 'CRON',
      idempotencyKey: 'CRON:wf-orphan:cron_1:2026-06-01T11:58:00.000Z',
      indexKey: '0 0 1 1 *',
      triggerIds: [t!.id],
      receivedAt: clock.now(),
      payload: { trigger_type: 'CRON', scheduled_time_utc: '2026-06-01T11:58:00.000Z' },
    });
    await claim('2026-06-01T11:58:00Z', '2026-06-01T11:59:30Z');
    await h.until(() => engineFires(h, 'wf-orphan').length === 1);

    await clock.advance(2_000);
    await new Promise((r) => setTimeout(r, 200));
    expect((await fireRows(h, 'wf-orphan')).map((r) => [r.nominal.slice(11, 19), r.outcome])).toEqual([
      ['11:58:00', 'fired'],
      ['11:59:00', 'claimed'],
    ]);
    await clock.advance(6_000);
    await h.until(async () => (await fireRows(h, 'wf-orphan')).every((r) => r.outcome === 'fired'));
    await h.until(() => engineFires(h, 'wf-orphan').length === 2);
    const rows = await fireRows(h, 'wf-orphan');
    expect(rows[0]!.event_id).toBe(stored.eventId);
    expect(engineFires(h, 'wf-orphan').map((f) => f.scheduled)).toEqual([
      '2026-06-01T11:58:00.000Z',
      '2026-06-01T11:59:00.000Z',
    ]);
    expect(h.engine.duplicateKeys()).toEqual([]);
  });
});
