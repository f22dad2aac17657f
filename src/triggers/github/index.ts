import { defineKind } from '../types.js';
import { type GithubConfig, parseGithubConfig } from './config.js';
import { GITHUB_ERRORS } from './errors.js';
import { registerGithubExplain } from './explain.js';
import { purgeDeliveries } from './github.sql.js';
import { matchGithub } from './match.js';
import { resolveInstallation } from './resolve.js';
import { registerGithubWebhook } from './routes.js';

/**
 * GITHUB: GitHub App webhook deliveries (POST /api/v1/github/webhook), verified with the App's secret,
 * deduplicated on X-GitHub-Delivery, indexed by repository (case-insensitive) and filtered with GitHub
 * Actions' `on:` semantics. Issue comments can answer a paused run, so resume modes are offered; the
 * default 'never' starts a new execution for every matched delivery.
 */
export const githubKind = defineKind<GithubConfig>({
  id: 'GITHUB',
  description:
    'GitHub App webhook deliveries for a repository, filtered like GitHub Actions `on:` (branches, tags, paths, types …)',
  resumeModes: ['never', 'latest', 'correlated'],
  errors: GITHUB_ERRORS,
  parseConfig: (raw) => parseGithubConfig(raw),
  resolve: resolveInstallation,
  indexKey: (config) => config.repository.toLowerCase(),
  match: (config, event) => matchGithub(config, event),
  purge: purgeDeliveries,
  async registerRoutes(app, s) {
    await registerGithubWebhook(app, s);
    registerGithubExplain(app, s);
  },
});
