import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';
import { workflowSpec } from '../helpers/workflows.js';

const deploy = (h: Harness, id: string, spec: unknown, user: string | null = 'user-1') =>
  h.api(
    'POST',
    `/api/v1/deployment/workflows/${id}/deploy`,
    spec === undefined ? undefined : { workflow_spec: spec },
    user,
  );

describe('deployment', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('deploys, records history and reports status', async () => {
    const spec = workflowSpec('wf-dep-1', [
      { id: 'm1', subtype: 'MANUAL' },
      { id: 'w1', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/dep-1' } },
    ]);
    const r = await deploy(h, 'wf-dep-1', spec);
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ workflow_id: 'wf-dep-1', status: 'DEPLOYED', version: 1 });
    expect(body.deployment_id).toMatch(/^deploy_[0-9a-f-]{36}$/);
    expect(body.triggers.map((t: { index_key: string }) => t.index_key).sort()).toEqual([
      '/webhook/dep-1',
      'wf-dep-1',
    ]);

    const st = (await h.api('GET', '/api/v1/deployment/workflows/wf-dep-1/status')).json();
    expect(st).toMatchObject({
      status: 'DEPLOYED',
      version: 1,
      active_version: 1,
      trigger_count: 2,
      owner: 'user-1',
    });
    expect(st.trigger_status).toEqual({ MANUAL: 'active', WEBHOOK: 'active' });

    const hist = (await h.api('GET', '/api/v1/deployment/workflows/wf-dep-1/history')).json().history;
    expect(hist.map((x: { deployment_action: string }) => x.deployment_action)).toEqual([
      'DEPLOY_COMPLETED',
      'DEPLOY_STARTED',
    ]);
    expect(hist[1]).toMatchObject({ from_status: 'UNDEPLOYED', to_status: 'DEPLOYING' });
    expect(hist[0]).toMatchObject({ from_status: 'DEPLOYING', to_status: 'DEPLOYED', deployment_version: 1 });

    const list = (await h.api('GET', '/api/v1/deployment/workflows')).json();
    expect(list.workflows.map((w: { workflow_id: string }) => w.workflow_id)).toContain('wf-dep-1');
  });

  it.each([
    ['not an object', 'nope', 'SCHED_VALIDATION', undefined],
    ['no nodes', { nodes: [] }, 'SCHED_INVALID_WORKFLOW', 'nodes'],
    [
      'duplicate node ids',
      {
        nodes: [
          { id: 'a', type: 'TRIGGER', subtype: 'MANUAL' },
          { id: 'a', type: 'ACTION' },
        ],
      },
      'SCHED_INVALID_WORKFLOW',
      'id',
    ],
    [
      'dangling connection',
      {
        nodes: [{ id: 'a', type: 'TRIGGER', subtype: 'MANUAL' }],
        connections: [{ from_node: 'a', to_node: 'zz' }],
      },
      'SCHED_INVALID_WORKFLOW',
      'connections[0].to_node',
    ],
    [
      'triggers list names a non-trigger',
      {
        nodes: [
          { id: 'a', type: 'TRIGGER', subtype: 'MANUAL' },
          { id: 'b', type: 'ACTION' },
        ],
        triggers: ['b'],
      },
      'SCHED_INVALID_WORKFLOW',
      'triggers',
    ],
    ['no trigger node', { nodes: [{ id: 'b', type: 'ACTION' }] }, 'SCHED_NO_TRIGGERS', 'nodes'],
    [
      'unknown subtype',
      { nodes: [{ id: 't', type: 'TRIGGER', subtype: 'CARRIER_PIGEON' }] },
      'SCHED_UNKNOWN_TRIGGER_SUBTYPE',
      'subtype',
    ],
    [
      'bad webhook method',
      {
        nodes: [
          { id: 't', type: 'TRIGGER', subtype: 'WEBHOOK', configurations: { allowed_methods: ['FETCH'] } },
        ],
      },
      'SCHED_INVALID_TRIGGER_CONFIG',
      'allowed_methods.0',
    ],
    [
      'secret in the URL',
      {
        nodes: [
          {
            id: 't',
            type: 'TRIGGER',
            subtype: 'WEBHOOK',
            configurations: { authentication: 'query_param', auth_token: 'x'.repeat(20) },
          },
        ],
      },
      'SCHED_INVALID_TRIGGER_CONFIG',
      'authentication',
    ],
    [
      'short header token',
      {
        nodes: [
          {
            id: 't',
            type: 'TRIGGER',
            subtype: 'WEBHOOK',
            configurations: { authentication: 'header_token', auth_token: 'short' },
          },
        ],
      },
      'SCHED_INVALID_TRIGGER_CONFIG',
      'auth_token',
    ],
    [
      'bad resume mode',
      { nodes: [{ id: 't', type: 'TRIGGER', subtype: 'MANUAL', configurations: { resume_mode: 'latest' } }] },
      'SCHED_INVALID_TRIGGER_CONFIG',
      'resume_mode',
    ],
    [
      'id mismatch',
      { metadata: { id: 'other' }, nodes: [{ id: 't', type: 'TRIGGER', subtype: 'MANUAL' }] },
      'SCHED_WORKFLOW_ID_MISMATCH',
      'metadata.id',
    ],
  ])('rejects %s with a code naming the field', async (_name, spec, code, field) => {
    const id = `wf-bad-${Math.random().toString(36).slice(2, 8)}`;
    const r = await deploy(h, id, spec);
    expect(r.statusCode, r.body).toBeGreaterThanOrEqual(400);
    expect(r.statusCode).toBeLessThan(500);
    const body = r.json();
    expect(body.code).toBe(code);
    if (field) expect(body.details?.field).toBe(field);
    if (code === 'SCHED_INVALID_TRIGGER_CONFIG' || code === 'SCHED_UNKNOWN_TRIGGER_SUBTYPE') {
      expect(body.details.node_id).toBe('t');
      expect(body.message).toMatch(/^node t: /);
    }
    if (code !== 'SCHED_VALIDATION') {
      const st = await h.api('GET', `/api/v1/deployment/workflows/${id}/status`);
      expect(st.json()).toMatchObject({
        status: 'DEPLOYMENT_FAILED',
        last_error: { code },
        trigger_count: 0,
      });
      const hist = (await h.api('GET', `/api/v1/deployment/workflows/${id}/history`)).json().history;
      expect(hist[0]).toMatchObject({ deployment_action: 'DEPLOY_FAILED', error_code: code });
    }
  });

  it('accepts schema objects, legacy `parameters` and both key variants', async () => {
    const spec = {
      metadata: { id: 'wf-variants', name: 'variants', created_by: 'user-1', created_time: 1 },
      nodes: [
        {
          id: 'w_spec',
          type: 'TRIGGER',
          subtype: 'WEBHOOK',
          configurations: {
            webhook_path: { type: 'string', default: '/webhook/variants-a', required: true },
            allowed_methods: { type: 'array', default: ['POST', 'put'] },
            enabled: { type: 'boolean', default: true },
          },
        },
        {
          id: 'w_impl',
          type: 'TRIGGER',
          subtype: 'WEBHOOK',
          parameters: { webhook_path: 'variants-b', methods: ['GET'] },
        },
        {
          id: 'm',
          type: 'TRIGGER',
          subtype: 'MANUAL',
          configurations: { trigger_name: { type: 'string', value: 'Run' } },
        },
      ],
      connections: [],
    };
    const r = await deploy(h, 'wf-variants', spec);
    expect(r.statusCode, r.body).toBe(200);
    const st = (await h.api('GET', '/api/v1/deployment/workflows/wf-variants/status')).json();
    const byNode = Object.fromEntries(st.triggers.map((t: { node_id: string }) => [t.node_id, t]));
    expect(byNode.w_spec.config).toMatchObject({
      webhook_path: '/webhook/variants-a',
      methods: ['POST', 'PUT'],
    });
    expect(byNode.w_impl.config).toMatchObject({ webhook_path: '/webhook/variants-b', methods: ['GET'] });
    expect(byNode.m.config).toMatchObject({ trigger_name: 'Run' });
  });

  it('defaults the webhook path to /webhook/{workflow_id}', async () => {
    const r = await deploy(
      h,
      'wf-default-path',
      workflowSpec('wf-default-path', [{ id: 'w', subtype: 'WEBHOOK' }]),
    );
    expect(r.json().triggers[0].index_key).toBe('/webhook/wf-default-path');
  });

  it('refuses a webhook path taken by another workflow with 409, keeping both as they were', async () => {
    await deploy(
      h,
      'wf-path-a',
      workflowSpec('wf-path-a', [
        { id: 'w', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/shared' } },
      ]),
    );
    const r = await deploy(
      h,
      'wf-path-b',
      workflowSpec('wf-path-b', [
        { id: 'w', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/shared' } },
      ]),
    );
    expect(r.statusCode).toBe(409);
    expect(r.json()).toMatchObject({ code: 'SCHED_WEBHOOK_PATH_TAKEN', details: { node_id: 'w' } });
    const same = await deploy(
      h,
      'wf-path-c',
      workflowSpec('wf-path-c', [
        { id: 'w1', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/twice' } },
        { id: 'w2', subtype: 'WEBHOOK', configurations: { webhook_path: 'twice' } },
      ]),
    );
    expect(same.statusCode).toBe(409);
    const hook = await h.inject({ method: 'POST', url: '/api/v1/public/webhook/shared', payload: {} });
    expect(hook.statusCode).toBe(202);
  });

  it('keeps the previous deployment working when a redeploy fails, and replaces triggers atomically on success', async () => {
    const v1 = workflowSpec('wf-atomic', [
      { id: 'w', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/atomic-v1' } },
    ]);
    expect((await deploy(h, 'wf-atomic', v1)).statusCode).toBe(200);
    const bad = workflowSpec('wf-atomic', [
      { id: 'w', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/atomic-v2' } },
      { id: 'x', subtype: 'WEBHOOK', configurations: { allowed_methods: 'sometimes' } },
    ]);
    const failed = await deploy(h, 'wf-atomic', bad);
    expect(failed.statusCode).toBe(400);
    expect(failed.json().details).toMatchObject({ node_id: 'x', field: 'allowed_methods' });
    const st = (await h.api('GET', '/api/v1/deployment/workflows/wf-atomic/status')).json();
    expect(st).toMatchObject({ status: 'DEPLOYMENT_FAILED', active_version: 1, trigger_count: 1 });
    // The old path still works; nothing of the new version is active.
    expect(
      (await h.inject({ method: 'POST', url: '/api/v1/public/webhook/atomic-v1', payload: {} })).statusCode,
    ).toBe(202);
    expect(
      (await h.inject({ method: 'POST', url: '/api/v1/public/webhook/atomic-v2', payload: {} })).statusCode,
    ).toBe(404);

    const v2 = workflowSpec('wf-atomic', [
      { id: 'w', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/atomic-v2' } },
    ]);
    const ok = await deploy(h, 'wf-atomic', v2);
    expect(ok.json()).toMatchObject({ status: 'DEPLOYED', version: 2 });
    expect(
      (await h.inject({ method: 'POST', url: '/api/v1/public/webhook/atomic-v1', payload: {} })).statusCode,
    ).toBe(404);
    expect(
      (await h.inject({ method: 'POST', url: '/api/v1/public/webhook/atomic-v2', payload: {} })).statusCode,
    ).toBe(202);
    const hist = (await h.api('GET', '/api/v1/deployment/workflows/wf-atomic/history')).json().history;
    expect(hist.map((x: { deployment_action: string }) => x.deployment_action).slice(0, 4)).toEqual([
      'UPDATE_COMPLETED',
      'UPDATE_STARTED',
      'UPDATE_FAILED',
      'UPDATE_STARTED',
    ]);
  });

  it('redeploys the stored spec when no body is sent', async () => {
    const spec = workflowSpec('wf-stored', [{ id: 'm', subtype: 'MANUAL' }]);
    await deploy(h, 'wf-stored', spec);
    const again = await h.inject({
      method: 'POST',
      url: '/api/v1/deployment/workflows/wf-stored/deploy',
      headers: { 'x-user-id': 'user-1', 'content-type': 'application/json' },
      payload: '',
    });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().version).toBe(2);
    const bare = await h.inject({
      method: 'POST',
      url: '/api/v1/deployment/workflows/wf-stored/deploy',
      headers: { 'x-user-id': 'user-1' },
    });
    expect(bare.json().version).toBe(3);
    const none = await deploy(h, 'wf-never-stored', undefined);
    expect(none.statusCode).toBe(404);
    expect(none.json().code).toBe('SCHED_NO_STORED_SPEC');
  });

  it('undeploys: events stop matching at once; undeploy is idempotent', async () => {
    await deploy(
      h,
      'wf-undeploy',
      workflowSpec('wf-undeploy', [
        { id: 'w', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/undeploy' } },
      ]),
    );
    expect(
      (await h.inject({ method: 'POST', url: '/api/v1/public/webhook/undeploy', payload: {} })).statusCode,
    ).toBe(202);
    const u = await h.api('DELETE', '/api/v1/deployment/workflows/wf-undeploy/undeploy');
    expect(u.statusCode).toBe(200);
    expect(u.json()).toMatchObject({ message: 'Workflow undeployed successfully', removed_triggers: 1 });
    expect(
      (await h.inject({ method: 'POST', url: '/api/v1/public/webhook/undeploy', payload: {} })).statusCode,
    ).toBe(404);
    const st = (await h.api('GET', '/api/v1/deployment/workflows/wf-undeploy/status')).json();
    expect(st).toMatchObject({ status: 'UNDEPLOYED', active_version: null, trigger_count: 0 });
    expect(st.undeployed_at).toBeTruthy();
    const again = await h.api('POST', '/api/v1/deployment/workflows/wf-undeploy/undeploy');
    expect(again.json().removed_triggers).toBe(0);
    const hist = (await h.api('GET', '/api/v1/deployment/workflows/wf-undeploy/history')).json().history;
    expect(hist[0].deployment_action).toBe('UNDEPLOY_COMPLETED');
    expect((await h.api('DELETE', '/api/v1/deployment/workflows/wf-nope/undeploy')).statusCode).toBe(404);
  });

  it('takes the owner from the acting user, else metadata.created_by, else refuses', async () => {
    const spec = workflowSpec('wf-owner', [{ id: 'm', subtype: 'MANUAL' }], { createdBy: 'creator-9' });
    const asService = await deploy(h, 'wf-owner', spec, null);
    expect(asService.statusCode).toBe(200);
    expect(
      (await h.api('GET', '/api/v1/deployment/workflows/wf-owner/status', undefined, null)).json().owner,
    ).toBe('creator-9');
    // Another user cannot see or redeploy it.
    expect(
      (await h.api('GET', '/api/v1/deployment/workflows/wf-owner/status', undefined, 'user-2')).statusCode,
    ).toBe(404);
    expect((await deploy(h, 'wf-owner', spec, 'user-2')).statusCode).toBe(404);
    const anonymous = { nodes: [{ id: 'm', type: 'TRIGGER', subtype: 'MANUAL' }] };
    const refused = await deploy(h, 'wf-ownerless', anonymous, null);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().code).toBe('SCHED_OWNER_REQUIRED');
  });

  it('validates the workflow id and JSON bodies', async () => {
    const badId = await h.api('POST', '/api/v1/deployment/workflows/bad%20id/deploy', { workflow_spec: {} });
    expect(badId.statusCode).toBe(400);
    expect(badId.json()).toMatchObject({
      code: 'SCHED_VALIDATION',
      details: { field: 'params.workflow_id' },
    });
    const malformed = await h.inject({
      method: 'POST',
      url: '/api/v1/deployment/workflows/wf-x/deploy',
      headers: { 'content-type': 'application/json', 'x-user-id': 'u' },
      payload: '{"workflow_spec": {',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({
      statusCode: 400,
      code: 'SCHED_INVALID_JSON',
      error: 'Bad Request',
    });
    const extra = await h.api('POST', '/api/v1/deployment/workflows/wf-x/deploy', { workflow_specs: {} });
    expect(extra.json()).toMatchObject({
      code: 'SCHED_VALIDATION',
      details: { field: 'body.workflow_specs' },
    });
  });

  it('marks a deploy interrupted by a crash as failed at start', async () => {
    await h.db.query(
      `INSERT INTO workflows (id, user_id, name, spec, deployment_status) VALUES ('wf-crashed', 'user-1', '', '{}'::jsonb, 'DEPLOYING')`,
    );
    await h.db.query(`UPDATE workflows SET updated_at = now() - interval '1 hour' WHERE id = 'wf-crashed'`);
    const ids = await h.services.deployer.recoverInterrupted();
    expect(ids).toContain('wf-crashed');
    const st = (await h.api('GET', '/api/v1/deployment/workflows/wf-crashed/status')).json();
    expect(st).toMatchObject({ status: 'DEPLOYMENT_FAILED', last_error: { code: 'SCHED_INTERNAL' } });
  });
});
