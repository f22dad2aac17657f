import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './helpers/harness.js';
import { workflowSpec } from './helpers/workflows.js';

describe('smoke', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('deploys, runs manually and receives a webhook', async () => {
    const spec = workflowSpec('wf-smoke', [
      { id: 'manual_1', subtype: 'MANUAL' },
      {
        id: 'hook_1',
        subtype: 'WEBHOOK',
        configurations: { webhook_path: '/webhook/smoke', allowed_methods: ['POST'] },
      },
    ]);
    const dep = await h.api('POST', '/api/v1/deployment/workflows/wf-smoke/deploy', { workflow_spec: spec });
    expect(dep.statusCode, dep.body).toBe(200);
    const run = await h.api('POST', '/api/v1/triggers/workflows/wf-smoke/manual', { input_data: { a: 1 } });
    expect(run.statusCode, run.body).toBe(200);
    expect(run.json().execution_id).toBeTruthy();
    const hook = await h.inject({ method: 'POST', url: '/api/v1/public/webhook/smoke', payload: { x: 1 } });
    expect(hook.statusCode, hook.body).toBe(202);
    await h.until(() => h.engine.executeCalls().length === 2);
  });
});
