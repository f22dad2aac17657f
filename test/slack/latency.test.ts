import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percentile } from '../../bench/cron/common.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { workflowSpec } from '../helpers/workflows.js';
import { BOT_ID, BOT_USER, envelope, GENERAL, message, SECRET, signed, TEAM_A } from './helpers/envelopes.js';
import { FakeSlackApi } from './helpers/slackApi.js';

const EVENTS = 1_000;
const CONCURRENCY = 50;
/** A fresh process compiles its paths (V8, PGlite's WASM) on the first requests; those are reported apart. */
const WARM_UP = 50;

describe('Slack ack latency while the engine hangs (real HTTP on a listening port)', () => {
  const slack = new FakeSlackApi();
  let h: Harness;
  let pool: Pool;

  beforeAll(async () => {
    await slack.start();
    slack.addWorkspace('xoxb-install', {
      teamId: TEAM_A,
      team: 'Acme',
      botUserId: BOT_USER,
      botId: BOT_ID,
      channels: [{ id: GENERAL, name: 'general' }],
    });
    h = await startHarness({
      engine: { hang: true },
      env: {
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_BOT_TOKEN: 'xoxb-install',
        SLACK_API_URL: slack.url,
        // The production default: a hung engine call is abandoned after 10 s, not the harness's 2 s.
        ENGINE_TIMEOUT_MS: '10000',
      },
    });
    const dep = await h.api('POST', '/api/v1/deployment/workflows/wf-lat/deploy', {
      workflow_spec: workflowSpec('wf-lat', [
        { id: 'slack_1', subtype: 'SLACK', configurations: { channels: ['general'] } },
      ]),
    });
    expect(dep.statusCode, dep.body).toBe(200);
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = h.app.server.address() as AddressInfo;
    pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY });
  });
  afterAll(async () => {
    await pool?.close();
    // Drop the hung engine connections first, so stopping does not wait for the engine timeout.
    await h?.engine.stop();
    await h?.close();
    await slack.stop();
  });

  /** Sends `count` signed events from CONCURRENCY connections; returns each ack's latency (ms) and the statuses. */
  async function burst(prefix: string, count: number) {
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const eventId = `Ev0${prefix}${String(i).padStart(6, '0')}`;
        const body = JSON.stringify(envelope(message({ text: `event ${i}` }), { eventId }));
        const req = signed(body, Math.floor(Date.now() / 1000));
        const started = performance.now();
        const res = await pool.request({
          method: 'POST',
          path: '/api/v1/slack/events',
          headers: req.headers,
          body: req.payload,
        });
        await res.body.text();
        latencies.push(performance.now() - started);
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      }
    };
    const wall = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return {
      latencies: latencies.sort((a, b) => a - b),
      statuses: Object.fromEntries(statuses),
      wallMs: performance.now() - wall,
    };
  }
  const r1 = (x: number) => Math.round(x * 10) / 10;

  it(`acknowledges ${EVENTS} signed events, each under 1 s`, async () => {
    const warm = await burst('WARM', WARM_UP);
    expect(warm.statuses).toEqual({ 200: WARM_UP });
    const { latencies, statuses, wallMs } = await burst('LAT', EVENTS);
    const summary = {
      events: EVENTS,
      concurrency: CONCURRENCY,
      p50_ms: r1(percentile(latencies, 50)),
      p99_ms: r1(percentile(latencies, 99)),
      max_ms: r1(latencies.at(-1)!),
      throughput_per_s: Math.round(EVENTS / (wallMs / 1000)),
      warm_up: { events: WARM_UP, max_ms: r1(warm.latencies.at(-1)!) },
      database: process.env.DATABASE_URL ? 'postgres' : 'pglite',
    };
    console.log(`slack ack latency ${JSON.stringify(summary)}`);
    expect(statuses).toEqual({ 200: EVENTS });
    expect(latencies.at(-1)!).toBeLessThan(1_000);
    // The engine really was hanging: calls were made and none was answered.
    expect(h.engine.executeCalls().length).toBeGreaterThan(0);
    expect(h.engine.executions.size).toBe(0);
    const stored = await h.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM dispatches WHERE workflow_id = 'wf-lat'",
    );
    expect(stored.rows[0]!.n).toBe(WARM_UP + EVENTS);
  });
});
