import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ts } from '../../src/db/db.js';
import type { NewDispatchRow } from '../../src/db/dispatches.sql.js';
import type { NewEventRow } from '../../src/db/events.sql.js';
import { writeInbox } from '../../src/db/inbox.sql.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { workflowSpec } from '../helpers/workflows.js';

/**
 * What the poll claims (retries, rows another replica left, a restart's catch-up burst) is late already;
 * an event acknowledged now must not queue behind it. One engine call at a time makes the order visible.
 */
describe('dispatch lanes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { DISPATCH_CONCURRENCY: '1' }, engine: { delayMs: 20 } });
    const r = await h.api('POST', '/api/v1/deployment/workflows/wf-lane/deploy', {
      workflow_spec: workflowSpec('wf-lane', [
        { id: 'hook', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/lane' } },
      ]),
    });
    expect(r.statusCode, r.body).toBe(200);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a fresh event goes before the backlog the poll took, and the backlog still drains', async () => {
    // Forty rows written without a claim: what a replica that died, or a restart's catch-up, leaves.
    const now = ts(Date.now());
    const events: NewEventRow[] = [];
    const dispatches: NewDispatchRow[] = [];
    for (let i = 0; i < 40; i++) {
      const eventId = randomUUID();
      events.push({
        id: eventId,
        kind: 'WEBHOOK',
        idempotencyKey: `lane-backlog-${i}`,
        indexKey: '/webhook/lane',
        payload: { i },
        meta: {},
        receivedAt: now,
        matchedCount: 1,
      });
      dispatches.push({
        id: randomUUID(),
        eventId,
        workflowId: 'wf-lane',
        nodeId: 'hook',
        kind: 'WEBHOOK',
        userId: 'user-1',
        triggerData: {},
        resumeMode: 'never',
        claimToken: null,
        leaseUntil: null,
        notBefore: null,
        now,
      });
    }
    await writeInbox(h.db, events, dispatches);
    const backlog = new Set(dispatches.map((d) => d.id));
    h.services.dispatcher.kick();
    // The poll takes what this process has room for (4 with one call at a time); the rest waits in the table.
    await h.until(() => h.services.dispatcher.stats().queued >= 3);

    const r = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/lane',
      payload: { fresh: true },
    });
    expect(r.statusCode, r.body).toBe(202);
    const fresh = (await h.api('GET', `/api/v1/events/${r.json().event_id}`)).json().dispatches[0].id;

    await h.until(() => h.engine.executeCalls().length === 41, 15_000);
    const order = h.engine.executeCalls().map((c) => c.idempotencyKey);
    const at = order.indexOf(fresh);
    const backlogBefore = order.slice(0, at).filter((k) => backlog.has(k!)).length;
    // Only the calls already under way or started while the webhook was being stored came first; were
    // the fresh row to wait for room behind the backlog, it would be polled after all forty.
    expect(backlogBefore).toBeLessThan(10);
    expect(order.filter((k) => backlog.has(k!))).toHaveLength(40);
  });
});
