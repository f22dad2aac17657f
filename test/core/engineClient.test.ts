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

  it('settles every call within the engine timeout, also calls still waiting for a connection', async () => {
    // One connection and an engine that never answers: calls queue in the pool behind the first one.
    // Socket timeouts alone would settle them one after another (5 × 500 ms); the deadline covers the queue.
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
      expect(Math.max(...settled.map((s) => s.ms))).toBeLessThan(1_500);
    } finally {
      await client.close().catch(() => {});
    }
  });
});
