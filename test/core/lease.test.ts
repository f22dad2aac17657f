import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/db.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { interceptQueries } from '../helpers/seams.js';
import { workflowSpec } from '../helpers/workflows.js';

/** A database whose dispatch-outcome writes fail while `failing` is set (a failure point at the seam). */
function withFailingOutcomes(db: Db): Db & { failing: boolean } {
  const out: Db & { failing: boolean } = Object.assign(
    interceptQueries(db, (q, text, params) =>
      out.failing && typeof text !== 'string' && text.name === 'dispatch_complete'
        ? Promise.reject(new Error('injected write failure'))
        : q.query(text, params),
    ),
    { failing: false },
  );
  return out;
}

describe('dispatch leases', () => {
  let h: Harness;
  let db: ReturnType<typeof withFailingOutcomes>;
  beforeAll(async () => {
    h = await startHarness({
      wrapDb: (inner) => {
        db = withFailingOutcomes(inner);
        return db;
      },
      env: { DISPATCH_LEASE_MS: '1500', ENGINE_TIMEOUT_MS: '1000', DISPATCH_POLL_INTERVAL_MS: '50' },
    });
    const r = await h.api('POST', '/api/v1/deployment/workflows/wf-lease/deploy', {
      workflow_spec: workflowSpec('wf-lease', [{ id: 'hook', subtype: 'WEBHOOK' }]),
    });
    expect(r.statusCode).toBe(200);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('keeps renewing the lease while an outcome cannot be written, so nothing is delivered twice', async () => {
    db.failing = true;
    const r = await h.inject({ method: 'POST', url: '/api/v1/public/webhook/wf-lease', payload: { x: 1 } });
    expect(r.statusCode).toBe(202);
    await h.until(() => h.engine.executeCalls().length === 1);
    // Well past two lease lengths with the outcome unwritten: renewal must keep other claims away.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(h.engine.executeCalls()).toHaveLength(1);
    const [row] = (
      await h.db.query<{ status: string; lease_until: Date }>('SELECT status, lease_until FROM dispatches')
    ).rows;
    expect(row?.status).toBe('in_flight');
    expect(new Date(row!.lease_until).getTime()).toBeGreaterThan(Date.now());
    db.failing = false;
    const ev = (await h.api('GET', `/api/v1/events/${r.json().event_id}`)).json();
    await h.until(
      async () =>
        (await h.api('GET', `/api/v1/dispatches/${ev.dispatches[0].id}`)).json().status === 'succeeded',
    );
    expect(h.engine.executeCalls()).toHaveLength(1);
  }, 30_000);
});
