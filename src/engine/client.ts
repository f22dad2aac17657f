import { Agent, request } from 'undici';

/**
 * The workflow engine's HTTP API (contract.md §4). Every failure is classified by what the dispatcher
 * should do with it: retry (with an optional Retry-After) or give up.
 */
export class EngineError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly httpStatus: number | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(
    code: string,
    message: string,
    opts: { retryable: boolean; httpStatus?: number | undefined; retryAfterMs?: number | undefined },
  ) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.retryable = opts.retryable;
    this.httpStatus = opts.httpStatus;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

export const RESUMABLE_STATUSES = new Set(['WAITING_FOR_HUMAN', 'PAUSED']);

export interface EngineExecution {
  id: string;
  status: string;
  startTime: number;
}

export interface ExecuteRequest {
  workflowId: string;
  userId: string;
  triggerType: string;
  triggerData: Record<string, unknown>;
  startFromNode: string;
  idempotencyKey: string;
}

export interface EngineClient {
  execute(req: ExecuteRequest): Promise<{ executionId: string }>;
  listExecutions(workflowId: string, limit: number): Promise<EngineExecution[]>;
  /** GET /v2/executions/{id}; null when the engine does not know it (404). */
  getExecution(executionId: string): Promise<EngineExecution | null>;
  /** Resolves 'not_found' on 404 (engine v2 has no resume route; v1 answers 404 when nothing is paused). */
  resume(
    executionId: string,
    body: { resume_data: Record<string, unknown>; interaction_id: string | null },
    idempotencyKey: string,
  ): Promise<'resumed' | 'not_found'>;
  close(): Promise<void>;
}

/**
 * The backstop deadline of whole engine calls. The agent's timeouts bound each phase once a request has a
 * socket (connect, headers, body); nothing bounds the wait for a free pooled connection, nor a request the
 * HTTP client leaves hanging, and such a call would hold a delivery slot for ever. Twice the engine timeout,
 * so a call that waited for its connection but was answered in time is not cut short (that would only
 * turn a slow success into a second delivery). One sweep timer, armed only while calls are open, serves
 * every call: an AbortSignal per request adds about 20 µs of CPU per call in undici
 * (bench/engine/deadline.ts), a Set entry next to nothing. A call past the deadline is failed; its
 * request is left to undici's own timeouts.
 */
function callDeadline(deadlineMs: number): { bound<T>(p: Promise<T>): Promise<T> } {
  const open = new Set<{ startedAt: number; fail: (err: Error) => void }>();
  let sweeper: NodeJS.Timeout | null = null;
  const sweep = () => {
    const now = performance.now();
    // Insertion order is start order: the first call still inside its deadline ends the sweep.
    for (const c of open) {
      if (now - c.startedAt < deadlineMs) break;
      open.delete(c);
      c.fail(
        new EngineError('SCHED_ENGINE_TIMEOUT', `no answer within ${deadlineMs} ms (whole call)`, {
          retryable: true,
        }),
      );
    }
    if (open.size === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = null;
    }
  };
  return {
    bound<T>(p: Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const c = { startedAt: performance.now(), fail: reject };
        open.add(c);
        if (!sweeper) {
          sweeper = setInterval(sweep, Math.max(50, Math.floor(deadlineMs / 4)));
          sweeper.unref();
        }
        p.then(
          (v) => {
            open.delete(c);
            resolve(v);
          },
          (err) => {
            open.delete(c);
            reject(err);
          },
        );
      });
    },
  };
}

export function createEngineClient(opts: {
  baseUrl: string;
  timeoutMs: number;
  connections?: number;
}): EngineClient {
  const agent = new Agent({
    connections: opts.connections ?? 128,
    keepAliveTimeout: 30_000,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    connectTimeout: Math.min(opts.timeoutMs, 5_000),
  });
  const deadline = callDeadline(2 * opts.timeoutMs);

  function call(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: unknown; retryAfterMs: number | undefined }> {
    return deadline.bound(send(method, path, body, headers));
  }

  async function send(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<{ status: number; json: unknown; retryAfterMs: number | undefined }> {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(`${opts.baseUrl}${path}`, {
        method,
        dispatcher: agent,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const name = (err as Error).name;
      const code = (err as { code?: string }).code ?? '';
      if (name === 'TimeoutError' || name === 'AbortError' || code.includes('TIMEOUT')) {
        throw new EngineError('SCHED_ENGINE_TIMEOUT', `no answer within ${opts.timeoutMs} ms`, {
          retryable: true,
        });
      }
      throw new EngineError('SCHED_ENGINE_UNREACHABLE', `${code || name}: ${(err as Error).message}`, {
        retryable: true,
      });
    }
    const text = await res.body.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return {
      status: res.statusCode,
      json: parsed,
      retryAfterMs: parseRetryAfter(res.headers['retry-after']),
    };
  }

  function classify(status: number, json: unknown, retryAfterMs: number | undefined): EngineError {
    const detail = describe(json);
    if (status === 429) {
      return new EngineError('SCHED_ENGINE_RATE_LIMITED', `HTTP 429${detail}`, {
        retryable: true,
        httpStatus: status,
        retryAfterMs,
      });
    }
    if (status === 408 || status >= 500) {
      return new EngineError(
        status === 408 ? 'SCHED_ENGINE_TIMEOUT' : 'SCHED_ENGINE_SERVER_ERROR',
        `HTTP ${status}${detail}`,
        {
          retryable: true,
          httpStatus: status,
          retryAfterMs,
        },
      );
    }
    return new EngineError('SCHED_ENGINE_REJECTED', `HTTP ${status}${detail}`, {
      retryable: false,
      httpStatus: status,
    });
  }

  return {
    async execute(req) {
      const { status, json, retryAfterMs } = await call(
        'POST',
        `/v2/workflows/${encodeURIComponent(req.workflowId)}/execute`,
        {
          workflow_id: req.workflowId,
          user_id: req.userId,
          trigger_data: req.triggerData,
          trigger: { trigger_type: req.triggerType },
          async_execution: true,
          start_from_node: req.startFromNode,
          trace_id: req.idempotencyKey,
        },
        { 'idempotency-key': req.idempotencyKey },
      );
      if (status < 200 || status >= 300) throw classify(status, json, retryAfterMs);
      const body = json as { success?: unknown; execution_id?: unknown; error?: unknown } | undefined;
      if (!body || typeof body !== 'object') {
        throw new EngineError('SCHED_ENGINE_BAD_RESPONSE', `HTTP ${status} without a JSON body`, {
          retryable: true,
          httpStatus: status,
        });
      }
      // The engine reports failures as HTTP 200 with success:false (contract.md §4.1).
      if (body.success !== true || typeof body.execution_id !== 'string' || body.execution_id === '') {
        throw new EngineError('SCHED_ENGINE_EXECUTION_FAILED', `success:false${describe(body)}`, {
          retryable: true,
          httpStatus: status,
        });
      }
      return { executionId: body.execution_id };
    },

    async listExecutions(workflowId, limit) {
      const { status, json, retryAfterMs } = await call(
        'GET',
        `/v2/workflows/${encodeURIComponent(workflowId)}/executions?limit=${limit}`,
        undefined,
      );
      if (status < 200 || status >= 300) throw classify(status, json, retryAfterMs);
      const list = (json as { executions?: unknown } | undefined)?.executions;
      if (!Array.isArray(list)) return [];
      return list.flatMap((e): EngineExecution[] => {
        if (!e || typeof e !== 'object') return [];
        const x = e as Record<string, unknown>;
        const id = typeof x.execution_id === 'string' && x.execution_id ? x.execution_id : x.id;
        if (typeof id !== 'string' || !id) return [];
        return [{ id, status: String(x.status ?? ''), startTime: Number(x.start_time ?? 0) || 0 }];
      });
    },

    async getExecution(executionId) {
      const { status, json, retryAfterMs } = await call(
        'GET',
        `/v2/executions/${encodeURIComponent(executionId)}`,
        undefined,
      );
      if (status === 404) return null;
      if (status < 200 || status >= 300) throw classify(status, json, retryAfterMs);
      const x = (json ?? {}) as Record<string, unknown>;
      return {
        id: typeof x.execution_id === 'string' && x.execution_id ? x.execution_id : executionId,
        status: String(x.status ?? ''),
        startTime: Number(x.start_time ?? 0) || 0,
      };
    },

    async resume(executionId, body, idempotencyKey) {
      const { status, json, retryAfterMs } = await call(
        'POST',
        `/v2/executions/${encodeURIComponent(executionId)}/resume`,
        body,
        { 'idempotency-key': idempotencyKey },
      );
      if (status === 404) return 'not_found';
      if (status < 200 || status >= 300) throw classify(status, json, retryAfterMs);
      return 'resumed';
    },

    async close() {
      await agent.close();
    },
  };
}

function describe(json: unknown): string {
  if (json && typeof json === 'object') {
    const x = json as Record<string, unknown>;
    const msg = x.error ?? x.message ?? x.detail;
    if (msg !== undefined)
      return `: ${String(typeof msg === 'string' ? msg : JSON.stringify(msg)).slice(0, 300)}`;
  }
  return '';
}

function parseRetryAfter(h: string | string[] | undefined): number | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
