import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

/**
 * A stand-in workflow engine that implements the engine contract (contract.md §4) and records every call.
 * Used by the tests and for local trials: `npm run stub-engine` (port 8002), then look at
 * http://localhost:8002/_stub/calls. It is idempotent per Idempotency-Key, like an engine should be, and
 * counts how often each key arrived so tests can assert "delivered exactly once".
 */
export interface StubExecution {
  id: string;
  workflowId: string;
  status: string;
  startTime: number;
  triggerData: unknown;
  startFromNode: string | undefined;
  resumes: unknown[];
}

export interface RecordedCall {
  at: number;
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  body: unknown;
}

export interface StubBehaviour {
  /** HTTP status for execute calls (default 200). */
  executeStatus: number;
  /** Answer HTTP 200 with success:false. */
  successFalse: boolean;
  /** Never answer execute calls (the connection stays open). */
  hang: boolean;
  /** Never answer execution status calls, GET /v2/executions/{id} (the connection stays open). */
  hangStatus: boolean;
  /** Delay before answering, ms. */
  delayMs: number;
  /** Execute calls are answered only once this settles (a test decides when an answer arrives). */
  gate: Promise<unknown> | null;
  /** 'unsupported' answers 404 to every resume, as engine v2 does; 'supported' resumes paused executions. */
  resume: 'supported' | 'unsupported';
  /** Retry-After header on 429/503 answers, seconds. */
  retryAfterS: number | undefined;
  /**
   * Keep every call with its body, and each execution's trigger data (tests read them). Off for
   * benchmarks (`--record keys`): there the retained bodies, over 100k of them, grew the stand-in's heap
   * until its garbage collector took the cores from the service measured beside it.
   */
  recordCalls: boolean;
}

export class StubEngine {
  readonly calls: RecordedCall[] = [];
  readonly executions = new Map<string, StubExecution>();
  private readonly byKey = new Map<string, string>();
  readonly keyCounts = new Map<string, number>();
  private executeCount = 0;
  behaviour: StubBehaviour;
  private server: Server | undefined;
  private readonly hanging = new Set<ServerResponse>();
  url = '';

  constructor(behaviour: Partial<StubBehaviour> = {}) {
    this.behaviour = {
      executeStatus: 200,
      successFalse: false,
      hang: false,
      hangStatus: false,
      delayMs: 0,
      gate: null,
      resume: 'unsupported',
      retryAfterS: undefined,
      recordCalls: true,
      ...behaviour,
    };
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    this.url = `http://${host}:${addr.port}`;
    return this.url;
  }

  /** Keeps a call unanswered, its connection open, until dropHanging or stop. */
  private leaveHanging(res: ServerResponse): void {
    this.hanging.add(res);
    res.on('close', () => this.hanging.delete(res));
  }

  /** Drops the connections of calls left hanging (the caller sees a network error). */
  dropHanging(): void {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
  }

  async stop(): Promise<void> {
    this.dropHanging();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** Execute calls (not resumes, not listings). */
  executeCalls(): RecordedCall[] {
    return this.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/execute'));
  }

  /** Keys that arrived more than once (at-least-once delivery shows up here; the engine dedupes them). */
  duplicateKeys(): string[] {
    return [...this.keyCounts].filter(([, n]) => n > 1).map(([k]) => k);
  }

  /** Puts an execution in a waiting state (as a human-in-the-loop node would). */
  addExecution(
    workflowId: string,
    status: string,
    startTime = Date.now(),
    id: string = randomUUID(),
  ): StubExecution {
    const e: StubExecution = {
      id,
      workflowId,
      status,
      startTime,
      triggerData: null,
      startFromNode: undefined,
      resumes: [],
    };
    this.executions.set(id, e);
    return e;
  }

  reset(): void {
    this.calls.length = 0;
    this.executions.clear();
    this.byKey.clear();
    this.keyCounts.clear();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const url = new URL(req.url ?? '/', 'http://stub');
    const key = req.headers['idempotency-key'];
    const idempotencyKey = Array.isArray(key) ? key[0] : key;
    const path = url.pathname;
    if (!path.startsWith('/_stub') && this.behaviour.recordCalls) {
      this.calls.push({ at: Date.now(), method: req.method ?? '', path, idempotencyKey, body });
    }
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    };
    const on = (method: string, re: RegExp) => (req.method === method ? re.exec(path) : null);
    let m = on('POST', /^\/v2\/workflows\/([^/]+)\/execute$/);
    if (m) {
      this.executeCount++;
      const b = this.behaviour;
      if (b.hang) {
        return this.leaveHanging(res);
      }
      if (b.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
      if (b.gate) await b.gate;
      if (idempotencyKey) this.keyCounts.set(idempotencyKey, (this.keyCounts.get(idempotencyKey) ?? 0) + 1);
      if (b.executeStatus !== 200) {
        return send(
          b.executeStatus,
          { detail: `stub engine answers ${b.executeStatus}` },
          b.retryAfterS !== undefined ? { 'retry-after': String(b.retryAfterS) } : {},
        );
      }
      const workflowId = decodeURIComponent(m[1] ?? '');
      if (b.successFalse)
        return send(200, { success: false, execution_id: '', error: `Workflow ${workflowId} not found` });
      const known = idempotencyKey ? this.byKey.get(idempotencyKey) : undefined;
      const exec =
        (known ? this.executions.get(known) : undefined) ??
        (() => {
          const e = this.addExecution(workflowId, 'RUNNING');
          const x = body as { trigger_data?: unknown; start_from_node?: string } | undefined;
          e.triggerData = this.behaviour.recordCalls ? x?.trigger_data : undefined;
          e.startFromNode = x?.start_from_node;
          if (idempotencyKey) this.byKey.set(idempotencyKey, e.id);
          return e;
        })();
      return send(200, {
        success: true,
        execution_id: exec.id,
        execution: {
          id: exec.id,
          execution_id: exec.id,
          workflow_id: workflowId,
          status: exec.status,
          start_time: exec.startTime,
          end_time: null,
        },
      });
    }
    m = on('GET', /^\/v2\/workflows\/([^/]+)\/executions$/);
    if (m) {
      const workflowId = decodeURIComponent(m[1] ?? '');
      const limit = Number(url.searchParams.get('limit') ?? 50);
      const list = [...this.executions.values()]
        .filter((e) => e.workflowId === workflowId)
        .sort((a, b) => b.startTime - a.startTime)
        .slice(0, limit)
        .map((e) => ({
          id: e.id,
          execution_id: e.id,
          workflow_id: e.workflowId,
          status: e.status,
          start_time: e.startTime,
          end_time: null,
          created_at: null,
          updated_at: null,
          error_message: null,
          duration_ms: null,
        }));
      return send(200, { executions: list, total_count: list.length, has_more: false });
    }
    m = on('POST', /^\/v2\/executions\/([^/]+)\/resume$/);
    if (m) {
      const e = this.executions.get(decodeURIComponent(m[1] ?? ''));
      if (
        this.behaviour.resume === 'unsupported' ||
        !e ||
        !['WAITING_FOR_HUMAN', 'PAUSED'].includes(e.status)
      ) {
        return send(404, { detail: 'Not Found' });
      }
      e.status = 'RUNNING';
      e.resumes.push(body);
      return send(200, {
        execution_id: e.id,
        status: 'RUNNING',
        message: 'resumed',
        completed: false,
        paused_again: false,
      });
    }
    m = on('GET', /^\/v2\/executions\/([^/]+)$/);
    if (m) {
      if (this.behaviour.hangStatus) {
        return this.leaveHanging(res);
      }
      const e = this.executions.get(decodeURIComponent(m[1] ?? ''));
      if (!e) return send(404, { detail: 'Not Found' });
      return send(200, {
        id: e.id,
        execution_id: e.id,
        workflow_id: e.workflowId,
        status: e.status,
        start_time: e.startTime,
      });
    }
    if (req.method === 'GET' && path === '/health') {
      return send(200, {
        status: 'healthy',
        version: '2.0.0-stub',
        uptime_seconds: Math.round(process.uptime()),
        service: 'workflow_engine_v2',
      });
    }
    if (req.method === 'GET' && path === '/_stub/calls') return send(200, { calls: this.calls.slice(-500) });
    if (req.method === 'GET' && path === '/_stub/stats') {
      return send(200, {
        execute_calls: this.executeCount,
        distinct_keys: this.keyCounts.size,
        duplicate_keys: this.duplicateKeys().length,
        executions: this.executions.size,
      });
    }
    if (req.method === 'POST' && path === '/_stub/behaviour') {
      Object.assign(this.behaviour, body ?? {});
      return send(200, this.behaviour);
    }
    if (req.method === 'POST' && path === '/_stub/executions') {
      const x = (body ?? {}) as { workflow_id?: string; status?: string };
      return send(200, this.addExecution(String(x.workflow_id), x.status ?? 'WAITING_FOR_HUMAN'));
    }
    if (req.method === 'POST' && path === '/_stub/reset') {
      this.reset();
      return send(200, { ok: true });
    }
    send(404, { detail: 'Not Found' });
  }
}

// `npm run stub-engine -- --port 8002 [--resume supported] [--record keys]` (keys: only Idempotency-Key counts)
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('stubEngine.ts')) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8002' },
      host: { type: 'string', default: '127.0.0.1' },
      resume: { type: 'string', default: 'unsupported' },
      record: { type: 'string', default: 'all' },
    },
  });
  const engine = new StubEngine({
    resume: values.resume === 'supported' ? 'supported' : 'unsupported',
    recordCalls: values.record !== 'keys',
  });
  const url = await engine.start(Number(values.port), values.host);
  process.stdout.write(
    `stub engine listening on ${url} (calls: ${url}/_stub/calls, stats: ${url}/_stub/stats)\n`,
  );
}
