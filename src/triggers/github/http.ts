import type { Clock } from '../../clock.js';

/** A failed GitHub API call; `code` is the catalogue code recorded or answered. */
export class GithubApiError extends Error {
  override name = 'GithubApiError';
  constructor(
    readonly code: 'SCHED_GITHUB_API_ERROR' | 'SCHED_GITHUB_APP_NOT_CONFIGURED',
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

function stripQuery(path: string): string {
  return path.split('?')[0] ?? path;
}

/**
 * Requests to the GitHub REST API at `apiUrl`, each bounded by the caller's deadline (or `timeoutMs`),
 * no redirects followed. Anything but a 2xx (or an allowed status) is a GithubApiError.
 */
export class GithubHttp {
  constructor(
    readonly apiUrl: string,
    private readonly timeoutMs: number,
    private readonly clock: Clock,
  ) {}

  async call(
    method: 'GET' | 'POST',
    path: string,
    bearer: string,
    deadline?: number,
    allow: number[] = [],
  ): Promise<Response> {
    const ms = deadline === undefined ? this.timeoutMs : deadline - this.clock.now();
    const what = `${method} ${stripQuery(path)}`;
    if (ms <= 0) throw new GithubApiError('SCHED_GITHUB_API_ERROR', `${what}: no time left`);
    let res: Response;
    try {
      res = await fetch(`${this.apiUrl}${path}`, {
        method,
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${bearer}`,
          'user-agent': 'workflow-scheduler',
          'x-github-api-version': '2022-11-28',
        },
        signal: AbortSignal.timeout(Math.min(ms, this.timeoutMs)),
        redirect: 'error',
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const why = e.name === 'TimeoutError' ? 'timed out' : (e.cause?.code ?? e.message);
      throw new GithubApiError('SCHED_GITHUB_API_ERROR', `${what}: ${why}`);
    }
    if (res.ok || allow.includes(res.status)) return res;
    await res.body?.cancel();
    throw new GithubApiError('SCHED_GITHUB_API_ERROR', `${what} answered HTTP ${res.status}`, res.status);
  }

  /** The rel="next" link as a path, only on the configured API origin, so a token never goes elsewhere. */
  nextPage(link: string | null): string | undefined {
    const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
    if (!m?.[1]) return undefined;
    const url = new URL(m[1], this.apiUrl);
    const base = new URL(this.apiUrl);
    if (url.origin !== base.origin) return undefined;
    const prefix = base.pathname.replace(/\/+$/, '');
    return url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) + url.search : undefined;
  }
}
