import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from '../src/triggers/registry.js';
import { extractTriggerNodes, parseWorkflowSpec } from '../src/workflow/spec.js';
import { type Harness, startHarness } from './helpers/harness.js';

const dir = new URL('../examples/', import.meta.url);
const examples = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({
    file: f,
    spec: JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as { metadata: { id: string } },
  }));

describe('examples/', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each(examples)('$file is a valid workflow whose trigger configurations parse', ({ spec }) => {
    const registry = new Registry();
    const parsed = parseWorkflowSpec(spec, spec.metadata.id);
    const nodes = extractTriggerNodes(parsed);
    expect(nodes.length).toBeGreaterThan(0);
    for (const n of nodes) {
      const kind = registry.get(n.subtype);
      expect(kind, n.subtype).toBeDefined();
      const { resume_mode: _m, ...config } = n.config;
      expect(() =>
        kind!.parseConfig(config, { workflowId: spec.metadata.id, nodeId: n.nodeId, defaultTimezone: 'UTC' }),
      ).not.toThrow();
    }
  });

  it.each(examples.filter((e) => ['hello-webhook.json', 'weekday-report.json'].includes(e.file)))(
    '$file deploys as the README shows',
    async ({ spec }) => {
      const r = await h.api(
        'POST',
        `/api/v1/deployment/workflows/${spec.metadata.id}/deploy`,
        { workflow_spec: spec },
        null,
      );
      expect(r.statusCode, r.body).toBe(200);
    },
  );
});
