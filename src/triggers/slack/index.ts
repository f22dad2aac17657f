import { AppError } from '../../errors.js';
import { defineKind } from '../types.js';
import { parseSlackConfig, type SlackConfig } from './config.js';
import { resolveSlackConfig } from './directory.js';
import { SLACK_ERRORS } from './errors.js';
import type { SlackEventData } from './ingress.js';
import { matchSlack } from './match.js';
import { purgeRateLimitNotices } from './notices.js';
import { registerSlackRoutes } from './routes.js';

/**
 * SLACK: Events API deliveries and block_actions interactions. The index key is the workspace (team id),
 * bound at deploy from the owner's Slack token, so a trigger only ever sees its own workspace's events.
 */
export const slackKind = defineKind<SlackConfig>({
  id: 'SLACK',
  description:
    'Slack Events API (POST /api/v1/slack/events) and interactions (POST /api/v1/slack/interactive) of the owner’s workspace',
  resumeModes: ['latest', 'correlated', 'never'],
  errors: SLACK_ERRORS,
  parseConfig: (raw) => parseSlackConfig(raw),
  resolve: (config, ctx) => resolveSlackConfig(config, ctx),
  indexKey(config) {
    // Never "empty matches every workspace" (contract.md §7 defect 9): no workspace, no trigger.
    if (!config.workspace_id) {
      throw new AppError('SCHED_INVALID_TRIGGER_CONFIG', 'the Slack workspace could not be resolved', {
        details: { field: 'workspace_id' },
      });
    }
    return config.workspace_id;
  },
  match: (config, event) => matchSlack(config, event.payload as SlackEventData),
  registerRoutes: registerSlackRoutes,
  purge: purgeRateLimitNotices,
});
