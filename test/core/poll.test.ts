import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { countingStatement, interceptQueries, stepClock } from '../helpers/seams.js';
import { workflowSpec } from '../helpers/workflows.js';

describe('dispatcher polling', () => {
  let h: Harness;
  const clock = new ManualClock('2026-06-01T12:00:00Z');
  let claims: ReturnType<typeof countingStatement>;
  beforeAll(async () => {
    h = await startHarness({
      clock,
      wrapDb: (inner) => {
        claims = countingStatement(inner, clock, 'dispatch_claim_due');
        return claims.db;
      },
      env: { DISPATCH_POLL_INTERVAL_MS: '1000', DISPATCH_IDLE_POLL_MAX_MS: '8000' },
    });
    const r = await h.api('POST', '/api/v1/deployment/workflows/wf-poll/deploy', {
      workflow_spec: workflowSpec('wf-poll', [{ id: 'hook', subtype: 'WEBHOOK' }]),
    });
    expect(r.statusCode, r.body).toBe(200);
  });
  afterAll(async () => {
    await h?.close();
  });

  const step = (totalMs: number, stepMs = 250) => stepClock(h, clock, claims, totalMs, stepMs);

  it('backs off while nothing is due: 1, 2, 4, 8, 8 s between polls', async () => {
    await step(2_000);
    const from = claims.runs.length;
    await step(40_000);
    const gaps = claims.runs.slice(from - 1).map((t, i, a) => (i === 0 ? 0 : t - a[i - 1]!));
    // The back-off started at start-up; after 2 s it is somewhere in its doubling, and from then on it
    // never exceeds the cap and never shrinks while idle.
    const later = gaps.slice(1);
    expect(later.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...later)).toBe(8_000);
    for (let i = 1; i < later.length; i++) expect(later[i]!).toBeGreaterThanOrEqual(later[i - 1]!);
    expect(later.filter((g) => g === 8_000).length).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('wakes for a retry it scheduled at the retry time, not at the idle interval', async () => {
    await step(20_000); // deep in the idle back-off: the next poll is up to 8 s away
    h.engine.behaviour.executeStatus = 503;
    const r = await h.inject({ method: 'POST', url: '/api/v1/public/webhook/wf-poll', payload: { n: 1 } });
    expect(r.statusCode).toBe(202);
    const ev = (await h.api('GET', `/api/v1/events/${r.json().event_id}`)).json();
    const id = ev.dispatches[0].id as string;
    await h.until(async () => (await h.api('GET', `/api/v1/dispatches/${id}`)).json().status === 'pending');
    h.engine.behaviour.executeStatus = 200;
    // Back-off is at most DISPATCH_BACKOFF_CAP_MS (200 ms in the harness): half a second of clock time is
    // enough, while the idle poll would come only seconds later.
    await step(500, 100);
    const d = await h.until(async () => {
      const x = (await h.api('GET', `/api/v1/dispatches/${id}`)).json();
      return x.status === 'succeeded' ? x : null;
    });
    expect(d.attempts).toBe(2);
  }, 60_000);
});

/**
 * A retry that falls due while a poll is under way must bring the next poll forward when that poll ends,
 * not wait for the poll interval. With the interval at a minute, the retry comes within a second of
 * clock time or the wake-up was lost.
 */
describe('dispatcher polling: a wake-up asked for during a poll', () => {
  const clock = new ManualClock('2026-05-01T10:00:00Z');
  let h: Harness;
  let hold: Promise<void> | null = null;
  let holding = false;
  let release = () => {};

  beforeAll(async () => {
    h = await startHarness({
      clock,
      env: { DISPATCH_POLL_INTERVAL_MS: '60000', DISPATCH_IDLE_POLL_MAX_MS: '600000' },
      // The poll's claim waits while `hold` is set: a poll under way, for as long as the test wants.
      wrapDb: (db) =>
        interceptQueries(db, async (q, text, params) => {
          if (typeof text !== 'string' && text.name === 'dispatch_claim_due' && hold) {
            holding = true;
            await hold;
          }
          return q.query(text, params);
        }),
    });
    const r = await h.api('POST', '/api/v1/deployment/workflows/wf-poll/deploy', {
      workflow_spec: workflowSpec('wf-poll', [
        { id: 'hook', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/poll' } },
      ]),
    });
    expect(r.statusCode, r.body).toBe(200);
    await clock.advance(0);
    await h.until(() => !h.services.dispatcher.stats().polling);
  });
  afterAll(async () => {
    release();
    await h?.close();
  });

  const dispatch = async (id: string) => (await h.api('GET', `/api/v1/dispatches/${id}`)).json();

  it('a retry falling due during a poll is claimed when it is due, not at the next interval', async () => {
    hold = new Promise((r) => {
      release = r;
    });
    h.services.dispatcher.kick();
    await clock.advance(0);
    await h.until(() => holding);

    h.engine.behaviour.executeStatus = 503;
    const r = await h.inject({ method: 'POST', url: '/api/v1/public/webhook/poll', payload: { n: 1 } });
    expect(r.statusCode, r.body).toBe(202);
    const ev = (await h.api('GET', `/api/v1/events/${r.json().event_id}`)).json();
    const id = ev.dispatches[0].id as string;
    // The first attempt (claimed at insert) failed and scheduled its retry while the poll was held.
    const failed = await h.until(async () => {
      const d = await dispatch(id);
      return d.status === 'pending' && d.last_error ? d : null;
    });
    expect(failed.last_error.code).toBe('SCHED_ENGINE_SERVER_ERROR');
    h.engine.behaviour.executeStatus = 200;

    hold = null;
    release();
    await h.until(() => !h.services.dispatcher.stats().polling);
    // A second of clock time in steps: the retry (back-off at most 200 ms here) must be delivered.
    for (let i = 0; i < 10 && (await dispatch(id)).status !== 'succeeded'; i++) {
      await clock.advance(100);
      await h.until(
        () => !h.services.dispatcher.stats().polling && h.services.dispatcher.stats().active === 0,
      );
    }
    const done = await h.until(async () => {
      const d = await dispatch(id);
      return d.status === 'succeeded' ? d : null;
    }, 2_000);
    expect(done.attempts).toBe(2);
  });
});
