// @ts-check
/**
 * The PGlite worker thread. PGlite executes queries synchronously in WebAssembly, so in the main thread
 * every write would stall HTTP handling for its duration; here it runs on its own core. Messages are
 * plain: {id, op, text?, params?, channel?} in, {id, ok, rows?, rowCount?, error?} out, and
 * {op: 'notify', channel, payload} for LISTEN. PGlite orders calls FIFO, so replies keep request order.
 * Plain JavaScript so the same file runs from src/ (tests, tsx) and dist/ (npm start).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const { dataDir, schema } = workerData;
const listeners = new Map();

/** @param {unknown} err */
function serialise(err) {
  const e = /** @type {Record<string, unknown>} */ (err ?? {});
  const out = { message: String(e.message ?? err) };
  for (const k of ['code', 'detail', 'hint', 'constraint', 'table', 'column', 'severity', 'where']) {
    if (e[k] !== undefined) Object.assign(out, { [k]: e[k] });
  }
  return out;
}

try {
  const pg = await PGlite.create(dataDir ?? undefined);
  if (schema && schema !== 'public')
    await pg.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}, public;`);
  port.on('message', async (m) => {
    try {
      switch (m.op) {
        case 'query': {
          const r = await pg.query(m.text, m.params);
          port.postMessage({ id: m.id, ok: true, rows: r.rows, rowCount: r.affectedRows ?? r.rows.length });
          break;
        }
        case 'exec':
          await pg.exec(m.text);
          port.postMessage({ id: m.id, ok: true });
          break;
        case 'listen': {
          const unsubscribe = await pg.listen(m.channel, (payload) =>
            port.postMessage({ op: 'notify', channel: m.channel, payload }),
          );
          listeners.set(m.channel, unsubscribe);
          port.postMessage({ id: m.id, ok: true });
          break;
        }
        case 'unlisten':
          await listeners.get(m.channel)?.();
          listeners.delete(m.channel);
          port.postMessage({ id: m.id, ok: true });
          break;
        case 'close':
          await pg.close();
          port.postMessage({ id: m.id, ok: true });
          port.close();
          break;
        default:
          port.postMessage({ id: m.id, ok: false, error: { message: `unknown op ${m.op}` } });
      }
    } catch (err) {
      port.postMessage({ id: m.id, ok: false, error: serialise(err) });
    }
  });
  port.postMessage({ op: 'ready' });
} catch (err) {
  port.postMessage({ op: 'failed', error: serialise(err) });
}
