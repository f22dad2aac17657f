import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { countingStatement } from '../helpers/seams.js';
import { workflowSpec } from '../helpers/workflows.js';

/**
 * Routing reads triggers by index key from a cache; the inbox write checks, in the same statement, that
 * trigger_index has not changed since. These tests change trigger_index behind the service's back, as
 * another replica would: only the database can tell this one.
 */
describe('routing through the route cache', () => {
  let h: Harness;
  let lookups: ReturnType<typeof countingStatement>;
  beforeAll(async () => {
    h = await startHarness({
      wrapDb: (inner) => {
        lookups = countingStatement(inner, systemClock, 'route_by_index_key');
        return lookups.db;
      },
    });
    const r = await h.api('POST', '/api/v1/deployment/workflows/wf-rc/deploy', {
      workflow_spec: workflowSpec('wf-rc', [
        { id: 'hook', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/rc' } },
      ]),
    });
    expect(r.statusCode, r.body).toBe(200);
  });
  afterAll(async () => {
    await h?.close();
  });

  const send = (path: string, payload: Record<string, unknown> = {}) =>
    h.inject({ method: 'POST', url: `/api/v1/public/webhook/${path}`, payload });

  it('reads trigger_index once for many events on a path while nothing changes', async () => {
    expect((await send('rc')).statusCode).toBe(202);
    const before = lookups.runs.length;
    for (let i = 0; i < 20; i++) expect((await send('rc', { i })).statusCode).toBe(202);
    expect(lookups.runs.length).toBe(before);
  });

  it('sees a trigger paused and resumed by another replica at the very next event', async () => {
    expect((await send('rc')).statusCode).toBe(202);
    await h.db.query(
      `UPDATE trigger_index SET enabled = false, deployment_status = 'inactive' WHERE workflow_id = 'wf-rc'`,
    );
    const paused = await send('rc');
    expect(paused.statusCode, paused.body).toBe(409);
    expect(paused.json().code).toBe('SCHED_TRIGGER_DISABLED');
    await h.db.query(
      `UPDATE trigger_index SET enabled = true, deployment_status = 'active' WHERE workflow_id = 'wf-rc'`,
    );
    const resumed = await send('rc', { after: 'resume' });
    expect(resumed.statusCode, resumed.body).toBe(202);
    const ev = (await h.api('GET', `/api/v1/events/${resumed.json().event_id}`)).json();
    expect(ev.dispatches).toHaveLength(1);
  });

  it('routes to a path deployed after it was looked up and found empty, and not after its undeploy', async () => {
    expect((await send('rc-later')).statusCode).toBe(404);
    const r = await h.api('POST', '/api/v1/deployment/workflows/wf-later/deploy', {
      workflow_spec: workflowSpec('wf-later', [
        { id: 'hook', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/rc-later' } },
      ]),
    });
    expect(r.statusCode, r.body).toBe(200);
    expect((await send('rc-later')).statusCode).toBe(202);
    await h.db.query(`DELETE FROM trigger_index WHERE workflow_id = 'wf-later'`);
    expect((await send('rc-later')).statusCode).toBe(404);
  });
});
