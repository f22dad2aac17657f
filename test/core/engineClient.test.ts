import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngineClient } from '../../src/engine/client.js';
import { StubEngine } from '../../tools/stubEngine.js';

describe('engine client deadline', () => {
  const engine = new StubEngine({ hang: true });
  beforeAll(async () => {
    await engine.start();
  });
  afterAll(async () => {
    await engine.stop();
  });

  it('bounds every call, also one still waiting for a connection, to twice the engine timeout', async () => {
    // One connection and an engine that never answers: calls queue in the pool behind the first one.
    // Socket timeouts alone settle them one after another (5 s for five); the whole-call deadline (twice
    // the 500 ms timeout) ends every one of them by about 1 s.
    const client = createEngineClient({ baseUrl: engine.url, timeoutMs: 500, connections: 1 });
    try {
      const started = performance.now();
      const settled = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          client
            .execute({
              workflowId: `wf-${i}`,
              userId: 'u',
              triggerType: 'MANUAL',
              triggerData: {},
              startFromNode: 'n',
              idempotencyKey: `k-${i}`,
            })
            .then(
              () => ({ code: 'answered', ms: performance.now() - started }),
              (err: { code?: string }) => ({ code: err.code, ms: performance.now() - started }),
            ),
        ),
      );
      expect(settled.map((s) => s.code)).toEqual(Array(5).fill('SCHED_ENGINE_TIMEOUT'));
      expect(Math.max(...settled.map((s) => s.ms))).toBeLessThan(1_800);
    } finally {
      await client.close().catch(() => {});
    }
  });
});
