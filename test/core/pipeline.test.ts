import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACT_PATHS } from '../../src/logger.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { workflowSpec } from '../helpers/workflows.js';

describe('ingest pipeline', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { DISPATCH_MAX_ATTEMPTS: '5' } });
    const r = await h.api('POST', '/api/v1/deployment/workflows/wf-pipe/deploy', {
      workflow_spec: workflowSpec('wf-pipe', [
        { id: 'hook', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/pipe' } },
      ]),
    });
    expect(r.statusCode).toBe(200);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('commits concurrent events together without letting one bad event fail the others', async () => {
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        h.inject({
          method: 'POST',
          url: '/api/v1/public/webhook/pipe',
          headers: { 'content-type': 'application/json' },
          payload: i % 10 === 3 ? `{"i":${i},"bad":"\\u0000"}` : `{"i":${i}}`,
        }),
      ),
    );
    const ok = results.filter((r) => r.statusCode === 202);
    const bad = results.filter((r) => r.statusCode === 400);
    expect(ok).toHaveLength(54);
    expect(bad).toHaveLength(6);
    for (const r of bad) expect(r.json().code).toBe('SCHED_UNSUPPORTED_PAYLOAD');
    const ids = new Set(ok.map((r) => r.json().event_id));
    expect(ids.size).toBe(54);
    await h.until(() => h.engine.executeCalls().length >= 54);
    const events = (await h.api('GET', '/api/v1/events?workflow_id=wf-pipe&limit=500')).json().events;
    expect(events).toHaveLength(54);
    // Several events shared a transaction (group commit).
    const batches =
      (await h.services.metrics.registry.getSingleMetricAsString('scheduler_ingest_batch_size')) ?? '';
    expect(batches).toMatch(/scheduler_ingest_batch_size_count \d+/);
  });

  it('records routing decisions on the event', async () => {
    const r = await h.inject({ method: 'POST', url: '/api/v1/public/webhook/pipe', payload: { a: 1 } });
    const ev = (await h.api('GET', `/api/v1/events/${r.json().event_id}`)).json();
    expect(ev.meta.routing).toEqual([{ workflow_id: 'wf-pipe', trigger_node_id: 'hook', matched: true }]);
  });

  it("answers a batch's events before it starts their engine calls", async () => {
    // The acknowledgement of an event must not wait for the engine request of its own dispatch.
    const { dispatcher } = h.services;
    const startedFor = new Set<string>();
    dispatcher.observer = (d) => startedFor.add(d.eventId);
    try {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          h
            .inject({ method: 'POST', url: '/api/v1/public/webhook/pipe', payload: { order: i } })
            .then((r) => {
              expect(r.statusCode).toBe(202);
              const id: string = r.json().event_id;
              return { id, startedBeforeAnswer: startedFor.has(id) };
            }),
        ),
      );
      expect(answers.filter((a) => a.startedBeforeAnswer)).toEqual([]);
      await h.until(() => answers.every((a) => startedFor.has(a.id)));
    } finally {
      dispatcher.observer = undefined;
    }
  });

  it('waits at least Retry-After before retrying a 429', async () => {
    h.engine.behaviour.executeStatus = 429;
    h.engine.behaviour.retryAfterS = 3;
    try {
      const r = await h.inject({
        method: 'POST',
        url: '/api/v1/public/webhook/pipe',
        payload: { retry: true },
      });
      const ev = (await h.api('GET', `/api/v1/events/${r.json().event_id}`)).json();
      const d = await h.until(async () => {
        const x = (await h.api('GET', `/api/v1/dispatches/${ev.dispatches[0].id}`)).json();
        return x.last_error ? x : null;
      });
      expect(d.last_error.code).toBe('SCHED_ENGINE_RATE_LIMITED');
      expect(Date.parse(d.next_attempt_at) - Date.parse(d.updated_at)).toBeGreaterThanOrEqual(2990);
    } finally {
      h.engine.behaviour.executeStatus = 200;
      h.engine.behaviour.retryAfterS = undefined;
    }
  });
});

describe('log redaction', () => {
  it('never writes credentials', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
    log.info(
      {
        req: {
          headers: {
            authorization: 'Bearer s3cr3t',
            'x-hub-signature-256': 'sha256=abc',
            'x-slack-signature': 'v0=x',
          },
        },
      },
      'r',
    );
    log.info(
      { credentials: { password: 'hunter2', token: 'xoxb-1' }, config: { auth_token: 'tok', secret: 'sss' } },
      'c',
    );
    const out = lines.join('');
    for (const secret of ['s3cr3t', 'sha256=abc', 'v0=x', 'hunter2', 'xoxb-1', '"tok"', 'sss'])
      expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });
});
