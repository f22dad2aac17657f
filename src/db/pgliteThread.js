// @ts-check
/**
 * The PGlite worker thread. PGlite executes queries synchronously in WebAssembly, so in the main thread
 * every write would stall HTTP handling for its duration; here it runs on its own core. Messages are
 * plain: {id, op, text?, params?, name?, channel?} in, {id, ok, rows?, rowCount?, error?} out, and
 * {op: 'notify', channel, payload} for LISTEN. Messages are handled one at a time, in order.
 * Plain JavaScript so the same file runs from src/ (tests, tsx) and dist/ (npm start).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, parse, protocol } from '@electric-sql/pglite';
// @ts-expect-error pg ships no types for its lib files; prepareValue is what the pg adapter sends.
import pgUtils from 'pg/lib/utils.js';

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

/** Names of the statements parsed on this connection (kept prepared, as the pg adapter does). */
const prepared = new Set();

/**
 * One statement through the extended protocol in a single exchange: Parse (unless `name` is prepared
 * already), Bind, Describe, Execute, Sync. PGlite's own query() makes six exchanges with the backend
 * and parses and plans the text every time; this one plans a named statement once, as PostgreSQL does
 * for the pg adapter. Parameters are sent as text, serialised as pg serialises them, so both adapters
 * hand the server the same values. Inbox write of one event: 1.5 -> 0.76 ms.
 * @param {PGlite} pg
 * @param {string} text
 * @param {unknown[]} params
 * @param {string | undefined} name
 */
async function extended(pg, text, params, name) {
  const { serialize } = protocol;
  const parsing = name === undefined || !prepared.has(name);
  const parts = [
    ...(parsing ? [serialize.parse({ name: name ?? '', text })] : []),
    serialize.bind({ statement: name ?? '', values: params.map((v) => pgUtils.prepareValue(v)) }),
    serialize.describe({ type: 'P' }),
    serialize.execute({}),
    serialize.sync(),
  ];
  try {
    const { messages } = await pg.execProtocol(Buffer.concat(parts));
    if (name !== undefined) prepared.add(name);
    return parse.parseResults(messages, pg.parsers)[0] ?? { rows: [], affectedRows: 0 };
  } catch (err) {
    if (name !== undefined && !parsing && /** @type {{ code?: string }} */ (err).code === '26000') {
      // Deallocated behind our back (DEALLOCATE ALL, DISCARD ALL): parse it again.
      prepared.delete(name);
      return extended(pg, text, params, name);
    }
    // Parsed, then failed to bind or run: drop it so the next call parses it again.
    if (name !== undefined && parsing)
      await pg.execProtocol(Buffer.concat([serialize.close({ type: 'S', name }), serialize.sync()]), {
        throwOnError: false,
      });
    throw err;
  }
}

try {
  const pg = await PGlite.create(dataDir ?? undefined);
  if (schema && schema !== 'public')
    await pg.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}, public;`);
  // ANALYZE, which only the service's own upkeep runs here (src/db/vacuum.ts), samples 300 rows per point
  // of target, reading each row's block: at PostgreSQL's default of 100, 30,000 blocks of the inbox, about
  // 0.3 s in PGlite (65k events); at 10, 3,000 blocks, about 0.1 s, with estimates good enough for the
  // lookups and time ranges this service runs.
  await pg.exec('SET default_statistics_target = 10');
  /** @param {any} m */
  const handle = async (m) => {
    try {
      switch (m.op) {
        case 'query': {
          const r = await extended(pg, m.text, m.params ?? [], m.name);
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
  };
  // One at a time: execProtocol, unlike query(), takes no lock, and a reply must not mix two exchanges.
  let turn = Promise.resolve();
  port.on('message', (m) => {
    turn = turn.then(() => handle(m));
  });
  port.postMessage({ op: 'ready' });
} catch (err) {
  port.postMessage({ op: 'failed', error: serialise(err) });
}
