import type { Clock } from '../../clock.js';
import type { Services } from '../../services.js';
import { AppAuth } from './appAuth.js';
import { MAX_CHANGED_FILES } from './event.js';
import { GithubApiError, GithubHttp } from './http.js';

export { GithubApiError } from './http.js';

export interface GithubApiOptions {
  apiUrl: string;
  appId: string | undefined;
  privateKey: string | undefined;
  /** Per-request bound when the caller gives no deadline. */
  timeoutMs: number;
}

const PER_PAGE = 100;

/** The GitHub REST calls the kind makes, as the GitHub App. */
export class GithubApi {
  private readonly http: GithubHttp;
  private readonly auth: AppAuth;

  constructor(o: GithubApiOptions, clock: Clock) {
    this.http = new GithubHttp(o.apiUrl, o.timeoutMs, clock);
    this.auth = new AppAuth(this.http, o.appId, o.privateKey, clock);
  }

  get configured(): boolean {
    return this.auth.configured;
  }

  installationToken(installationId: number, deadline?: number): Promise<string> {
    return this.auth.installationToken(installationId, deadline);
  }

  /**
   * `GET /repos/{owner}/{repo}/pulls/{number}/files`, following Link rel="next", up to the first 300
   * files as GitHub Actions considers (a renamed file counts under its new name, as the API lists it).
   */
  async pullRequestFiles(
    fullName: string,
    number: number,
    installationId: number,
    deadline: number,
  ): Promise<{ files: string[]; truncated: boolean }> {
    const token = await this.auth.installationToken(installationId, deadline);
    const files: string[] = [];
    let path: string | undefined = `/repos/${fullName}/pulls/${number}/files?per_page=${PER_PAGE}`;
    let more = false;
    while (path) {
      const res = await this.http.call('GET', path, token, deadline).catch((err: GithubApiError) => {
        if (err.status === 401) this.auth.forget(installationId);
        throw err;
      });
      const page = (await res.json().catch(() => null)) as unknown;
      if (!Array.isArray(page))
        throw new GithubApiError(
          'SCHED_GITHUB_API_ERROR',
          'pull request files: the answer is not a list',
          res.status,
        );
      for (const f of page) {
        const name = (f as { filename?: unknown }).filename;
        if (typeof name === 'string') files.push(name);
      }
      path = this.http.nextPage(res.headers.get('link'));
      if (files.length >= MAX_CHANGED_FILES) {
        more = files.length > MAX_CHANGED_FILES || path !== undefined;
        break;
      }
    }
    return { files: files.slice(0, MAX_CHANGED_FILES), truncated: more };
  }

  /** `GET /repos/{owner}/{repo}/installation` with the App JWT; null when the App is not installed there. */
  async repositoryInstallation(
    fullName: string,
  ): Promise<{ id: number; account: Record<string, unknown> } | null> {
    const res = await this.http.call(
      'GET',
      `/repos/${fullName}/installation`,
      await this.auth.appJwt(),
      undefined,
      [404],
    );
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    const body = (await res.json().catch(() => null)) as { id?: unknown; account?: unknown } | null;
    if (typeof body?.id !== 'number')
      throw new GithubApiError(
        'SCHED_GITHUB_API_ERROR',
        'repository installation: the answer has no id',
        res.status,
      );
    return { id: body.id, account: (body.account ?? {}) as Record<string, unknown> };
  }
}

const clients = new WeakMap<Services, GithubApi>();

/** One client (and token cache) per service instance. */
export function githubApi(s: Services): GithubApi {
  let c = clients.get(s);
  if (!c) {
    const g = s.config.github;
    c = new GithubApi(
      { apiUrl: g.apiUrl, appId: g.appId, privateKey: g.appPrivateKey, timeoutMs: g.apiTimeoutMs },
      s.clock,
    );
    clients.set(s, c);
  }
  return c;
}
