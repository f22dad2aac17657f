import { ts } from '../../db/db.js';
import { AppError } from '../../errors.js';
import type { ResolveContext } from '../types.js';
import { GithubApiError, githubApi } from './api.js';
import type { GithubConfig } from './config.js';
import { findInstallationForRepository, rememberInstallation } from './github.sql.js';

/**
 * Deploy-time: the installation whose deliveries may fire this trigger. Named in the configuration →
 * kept; else the installation events we stored; else `GET /repos/{owner}/{repo}/installation` with the
 * App JWT. Never from the workflow's owner fields (contract.md §7, defect 18).
 */
export async function resolveInstallation(config: GithubConfig, ctx: ResolveContext): Promise<GithubConfig> {
  if (config.installation_id !== null) return config;
  const { db, clock } = ctx.services;
  const known = await findInstallationForRepository(db, config.repository);
  if (known !== undefined) return { ...config, installation_id: known, installation_source: 'installations' };
  const api = githubApi(ctx.services);
  if (!api.configured) {
    throw new AppError(
      'SCHED_GITHUB_INSTALLATION_NOT_FOUND',
      `no installation of the GitHub App is known for ${config.repository}, and GITHUB_APP_ID / ` +
        'GITHUB_APP_PRIVATE_KEY are not set to ask GitHub; install the App or set github_app_installation_id',
      { details: { field: 'repository' } },
    );
  }
  let found: Awaited<ReturnType<typeof api.repositoryInstallation>>;
  try {
    found = await api.repositoryInstallation(config.repository);
  } catch (err) {
    if (err instanceof GithubApiError)
      throw new AppError(err.code, `resolving the installation of ${config.repository}: ${err.message}`, {
        details: { field: 'repository' },
      });
    throw err;
  }
  if (!found) {
    throw new AppError(
      'SCHED_GITHUB_INSTALLATION_NOT_FOUND',
      `the GitHub App is not installed on ${config.repository} (GitHub answered 404)`,
      { details: { field: 'repository' } },
    );
  }
  await rememberInstallation(db, found, config.repository, ts(clock.now()));
  return { ...config, installation_id: found.id, installation_source: 'api' };
}
