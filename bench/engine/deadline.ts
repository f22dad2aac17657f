/**
 * What bounding each engine call costs in CPU: undici requests against a local server with no deadline,
 * an AbortSignal.timeout per request, one shared signal per second, and an AbortController per request.
 * The engine client ships none of these (one sweep timer, src/engine/client.ts); this shows why.
 *
 *   npx tsx bench/engine/deadline.ts [calls per round, default 30000]
 */
import { setMaxListeners } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

const CALLS = Number(process.argv[2] ?? 30_000);
const IN_FLIGHT = 50;

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"execution_id":"x"}');
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/workflows/w/execute`;
const agent = new Agent({ connections: 64, headersTimeout: 2_000, bodyTimeout: 2_000 });

let bucket = { second: -1, signal: AbortSignal.timeout(5_000) };
const modes: Record<string, () => AbortSignal | undefined> = {
  none: () => undefined,
  'AbortSignal.timeout per call': () => AbortSignal.timeout(4_000),
  'shared signal per second': () => {
    const second = Math.floor(Date.now() / 1000);
    if (bucket.second !== second) {
      const signal = AbortSignal.timeout(5_000);
      setMaxListeners(0, signal);
      bucket = { second, signal };
    }
    return bucket.signal;
  },
  'AbortController per call': () => new AbortController().signal,
};

async function round(mode: string): Promise<{ mode: string; perS: number; cpuUsPerCall: number }> {
  let next = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const worker = async () => {
    while (next++ < CALLS) {
      const signal = modes[mode]!();
      const r = await request(url, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: '{"trigger_data":{}}',
        ...(signal ? { signal } : {}),
      });
      await r.body.text();
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const used = process.cpuUsage(cpu);
  return {
    mode,
    perS: Math.round(CALLS / ((performance.now() - started) / 1000)),
    cpuUsPerCall: Math.round(((used.user + used.system) / CALLS) * 10) / 10,
  };
}

await round('none'); // warm-up
for (let i = 0; i < 3; i++)
  for (const mode of Object.keys(modes)) console.log(JSON.stringify(await round(mode)));
await agent.close();
server.close();
