import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walSinceCheckpoint } from '../../src/db/checkpoint.js';
import { ts } from '../../src/db/db.js';
import { databaseXidAge, FREEZE_MAX_AGE, vacuumDatabase } from '../../src/db/vacuum.js';
import { cancelWait, getWait, insertWait } from '../../src/hil/waits.sql.js';
import { Maintenance } from '../../src/maintenance.js';
import { insertDelivery } from '../../src/triggers/github/github.sql.js';
import { listRateLimitNotices, recordRateLimitNotice } from '../../src/triggers/slack/notices.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { workflowSpec } from '../helpers/workflows.js';

const DAY = 86_400_000;

describe('event retention and embedded upkeep', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { EVENT_RETENTION_DAYS: '30', DISPATCH_MAX_ATTEMPTS: '1' } });
    const r = await h.api('POST', '/api/v1/deployment/workflows/wf-ret/deploy', {
      workflow_spec: workflowSpec('wf-ret', [
        { id: 'hook', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/ret' } },
      ]),
    });
    expect(r.statusCode, r.body).toBe(200);
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A webhook event; resolves with its ids once its dispatch reached `status`. */
  const fire = async (status: string) => {
    const r = await h.inject({ method: 'POST', url: '/api/v1/public/webhook/ret', payload: { n: 1 } });
    expect(r.statusCode, r.body).toBe(202);
    const eventId = r.json().event_id as string;
    const ev = (await h.api('GET', `/api/v1/events/${eventId}`)).json();
    const dispatchId = ev.dispatches[0].id as string;
    await h.until(
      async () => (await h.api('GET', `/api/v1/dispatches/${dispatchId}`)).json().status === status,
    );
    return { eventId, dispatchId };
  };
  /** Moves an event's reception and its dispatches' last activity `days` into the past. */
  const age = async (eventId: string, days: number, opts: { dispatches?: boolean } = {}) => {
    await h.db.query(
      `UPDATE events SET received_at = received_at - make_interval(days => $2) WHERE id = $1`,
      [eventId, days],
    );
    if (opts.dispatches !== false)
      await h.db.query(
        `UPDATE dispatches SET updated_at = updated_at - make_interval(days => $2),
           created_at = created_at - make_interval(days => $2) WHERE event_id = $1`,
        [eventId, days],
      );
  };
  /** `n` webhook events, each a delivery that updates its dispatch; resolves once every dispatch has ended. */
  const fireMany = async (n: number, pad = '') => {
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        h.inject({ method: 'POST', url: '/api/v1/public/webhook/ret', payload: pad ? { i, pad } : { i } }),
      ),
    );
    await h.until(async () => {
      const r = await h.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM dispatches WHERE status = 'in_flight' OR status = 'pending'",
      );
      return r.rows[0]?.n === 0;
    });
  };
  const exists = async (eventId: string, dispatchId: string) => ({
    event: (await h.api('GET', `/api/v1/events/${eventId}`)).statusCode,
    dispatch: (await h.api('GET', `/api/v1/dispatches/${dispatchId}`)).statusCode,
  });

  it('deletes events past the retention with their finished dispatches, and nothing younger or unfinished', async () => {
    const delivered = await fire('succeeded');
    h.engine.behaviour.executeStatus = 422;
    const dead = await fire('dead');
    h.engine.behaviour.executeStatus = 200;
    const young = await fire('succeeded');
    // Replayed lately: received long ago, but its dispatch was active within the retention.
    const replayed = await fire('succeeded');
    await age(delivered.eventId, 31);
    await age(dead.eventId, 31);
    await age(young.eventId, 29);
    await age(replayed.eventId, 31, { dispatches: false });
    // Unfinished: its engine call is under way when the purge runs.
    let answer: () => void = () => {};
    h.engine.behaviour.gate = new Promise<void>((r) => {
      answer = r;
    });
    const r = await h.inject({ method: 'POST', url: '/api/v1/public/webhook/ret', payload: { n: 2 } });
    const busyEvent = r.json().event_id as string;
    const busy = (await h.api('GET', `/api/v1/events/${busyEvent}`)).json().dispatches[0].id as string;
    await h.until(
      async () => (await h.api('GET', `/api/v1/dispatches/${busy}`)).json().status === 'in_flight',
    );
    await age(busyEvent, 40);

    const purged = await h.services.maintenance.purge();
    expect(purged.events).toBe(2);
    expect(await exists(delivered.eventId, delivered.dispatchId)).toEqual({ event: 404, dispatch: 404 });
    expect(await exists(dead.eventId, dead.dispatchId)).toEqual({ event: 404, dispatch: 404 });
    expect(await exists(young.eventId, young.dispatchId)).toEqual({ event: 200, dispatch: 200 });
    expect(await exists(replayed.eventId, replayed.dispatchId)).toEqual({ event: 200, dispatch: 200 });
    expect(await exists(busyEvent, busy)).toEqual({ event: 200, dispatch: 200 });

    // Once its call ends (the outcome counts as activity), it waits out a retention of its own.
    answer();
    h.engine.behaviour.gate = null;
    await h.until(
      async () => (await h.api('GET', `/api/v1/dispatches/${busy}`)).json().status === 'succeeded',
    );
    expect((await h.services.maintenance.purge()).events).toBe(0);
    await age(busyEvent, 31);
    expect((await h.services.maintenance.purge()).events).toBe(1);
    expect(await exists(busyEvent, busy)).toEqual({ event: 404, dispatch: 404 });

    const health = (await h.inject({ method: 'GET', url: '/health/detailed' })).json();
    expect(health.components.maintenance).toMatchObject({
      event_retention_days: 30,
      last_purge: { events: 1 },
      embedded_autovacuum: h.db.dialect === 'pglite',
    });
    const prom = (await h.inject({ method: 'GET', url: '/metrics/prometheus' })).body;
    expect(prom).toContain('scheduler_events_purged_total 3');
  });

  it('purges in batches until nothing is left, and the kinds’ own delivery records with the events', async () => {
    const s = h.services;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { eventId } = await fire('succeeded');
      await age(eventId, 45);
      ids.push(eventId);
    }
    const old = ts(Date.now() - 45 * DAY);
    await insertDelivery(h.db, {
      deliveryId: `old-${randomUUID()}`,
      eventType: 'ping',
      payload: {},
      eventId: ids[0]!,
      now: old,
    });
    const keptDelivery = `new-${randomUUID()}`;
    await insertDelivery(h.db, {
      deliveryId: keptDelivery,
      eventType: 'ping',
      payload: {},
      eventId: ids[1]!,
      now: ts(Date.now()),
    });
    for (const [minute, receivedAt] of [
      [1, Date.now() - 45 * DAY],
      [2, Date.now()],
    ] as const)
      await recordRateLimitNotice(h.db, {
        apiAppId: 'A1',
        teamId: 'T1',
        minuteRateLimited: minute,
        receivedAt,
      });
    // Human-in-the-loop waits asked 45 days ago: one closed (cancelled) then, one still open.
    const asked = Date.now() - 45 * DAY;
    const waits = [randomUUID(), randomUUID()] as const;
    for (const id of waits)
      await insertWait(h.db, {
        id,
        executionId: `exec-${id}`,
        interactionId: 'approve',
        workflowId: 'wf-ret',
        userId: 'user-1',
        kind: 'WEBHOOK',
        match: {},
        expiresAt: ts(Date.now() + DAY),
        askedAt: ts(asked),
        now: ts(asked),
      });
    expect(await cancelWait(h.db, waits[0], ts(asked + 1_000))).toBe(true);
    // Two rows a statement: the loop must go on past the first full batch.
    const m = new Maintenance({ ...s, retentionDays: 30, purgeBatch: 2 });
    const r = await m.purge();
    expect(r).toEqual({ events: 5, records: { GITHUB: 1, SLACK: 1, hil_waits: 1 } });
    expect(await getWait(h.db, waits[0])).toBeUndefined();
    expect((await getWait(h.db, waits[1]))?.status).toBe('open');
    expect((await listRateLimitNotices(h.db)).map((n) => n.minute_rate_limited)).toEqual([2]);
    const left = await h.db.query<{ delivery_id: string; event_id: string | null }>(
      'SELECT delivery_id, event_id FROM github_webhook_events',
    );
    // The delivery record outlives its event (kept for its own retention): its link is cleared.
    expect(left.rows).toEqual([{ delivery_id: keptDelivery, event_id: null }]);
    for (const id of ids) expect((await h.api('GET', `/api/v1/events/${id}`)).statusCode).toBe(404);
  });

  it('vacuums and analyses busy tables itself on PGlite, and leaves that to autovacuum on PostgreSQL', async () => {
    // Every delivery updates its dispatch once: over 50 dead row versions make dispatches due.
    await fireMany(60);
    const done = await h.services.maintenance.upkeep();
    const stats = await h.db.query<{ vacuum_count: string; analyze_count: string }>(
      `SELECT vacuum_count, analyze_count FROM pg_stat_user_tables
       WHERE relname = 'dispatches' AND schemaname = current_schema()`,
    );
    if (h.db.dialect === 'pglite') {
      expect(done).toContainEqual({ table: 'dispatches', vacuum: true, analyze: true });
      expect(Number(stats.rows[0]?.vacuum_count)).toBeGreaterThanOrEqual(1);
      expect(Number(stats.rows[0]?.analyze_count)).toBeGreaterThanOrEqual(1);
      // Done: nothing is due again until there is new activity.
      expect(await h.services.maintenance.upkeep()).toEqual([]);
      const health = (await h.inject({ method: 'GET', url: '/health/detailed' })).json();
      expect(health.components.maintenance.vacuumed.dispatches).toBeGreaterThanOrEqual(1);
      // The wraparound guard's statement runs through PGlite's worker (no transaction block around it).
      const age = await databaseXidAge(h.db);
      expect(age).toBeGreaterThan(0);
      expect(age).toBeLessThan(FREEZE_MAX_AGE);
      await vacuumDatabase(h.db);
    } else {
      expect(done).toEqual([]);
      expect(h.services.maintenance.upkeepEnabled).toBe(false);
    }
  });

  it('checkpoints PGlite once enough WAL is written, and leaves that to the checkpointer on PostgreSQL', async () => {
    const threshold = 64 * 1024;
    const m = new Maintenance({ ...h.services, retentionDays: 30, checkpointWalBytes: threshold });
    // 40 events with their dispatches and deliveries: well over 64 KiB of WAL. Every outcome is written
    // before the check, so no WAL comes after the checkpoint.
    await fireMany(40, 'x'.repeat(2_000));
    if (h.db.dialect === 'pglite') {
      expect(await walSinceCheckpoint(h.db)).toBeGreaterThan(threshold);
      expect(await m.checkpointIfDue()).toBe(true);
      const health = m.health();
      expect(health).toMatchObject({ checkpoints: 1 });
      expect(typeof health.last_checkpoint_at).toBe('string');
      // The redo point moved up to the checkpoint: what a crash would replay now is only what came after.
      expect(await walSinceCheckpoint(h.db)).toBeLessThan(threshold);
      // Not due again without new WAL.
      expect(await m.checkpointIfDue()).toBe(false);
      expect(m.health()).toMatchObject({ checkpoints: 1 });
    } else {
      expect(await m.checkpointIfDue()).toBe(false);
      expect(m.health().checkpoints).toBeUndefined();
    }
  });
});
