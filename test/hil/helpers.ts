import { expect } from 'vitest';
import type { ManualClock } from '../../src/clock.js';
import type { Harness } from '../helpers/harness.js';
import { workflowSpec } from '../helpers/workflows.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers read loosely in assertions
export type Json = Record<string, any>;

/** Deploys a workflow whose one WEBHOOK trigger listens at /webhook/<path> in the given resume mode. */
export async function deployHook(h: Harness, id: string, path: string, mode: string, user = 'user-1') {
  const spec = workflowSpec(
    id,
    [
      {
        id: 'hook',
        subtype: 'WEBHOOK',
        configurations: { webhook_path: `/webhook/${path}`, resume_mode: mode },
      },
    ],
    { createdBy: user },
  );
  const r = await h.api('POST', `/api/v1/deployment/workflows/${id}/deploy`, { workflow_spec: spec }, user);
  expect(r.statusCode, r.body).toBe(200);
}

/** Delivers a JSON body to a webhook; returns the stored event id. */
export async function post(h: Harness, path: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await h.inject({
    method: 'POST',
    url: `/api/v1/public/webhook/${path}`,
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  });
  expect(r.statusCode, r.body).toBe(202);
  return r.json().event_id as string;
}

export async function dispatchOf(h: Harness, eventId: string): Promise<Json> {
  const r = await h.api('GET', `/api/v1/events/${eventId}`, undefined, null);
  expect(r.statusCode, r.body).toBe(200);
  const d = r.json().dispatches as Json[];
  expect(d).toHaveLength(1);
  return d[0]!;
}

/** Waits (real time, moving the manual clock along) until the event's dispatch is finished. */
export async function finished(h: Harness, clock: ManualClock, eventId: string): Promise<Json> {
  return h.until(async () => {
    await clock.advance(100);
    const d = await dispatchOf(h, eventId);
    return d.status === 'succeeded' || d.status === 'dead' ? d : null;
  });
}

export async function register(h: Harness, body: Json, user: string | null = null) {
  return h.api('POST', '/api/v1/hil/waits', body, user);
}

export async function waitById(h: Harness, id: string): Promise<Json> {
  const r = await h.api('GET', `/api/v1/hil/waits/${id}`, undefined, null);
  expect(r.statusCode, r.body).toBe(200);
  return r.json();
}

export const inAnHour = (clock: { now(): number }) => new Date(clock.now() + 3_600_000).toISOString();
