import { AppError } from '../../errors.js';
import { defineKind } from '../types.js';
import { parseWebhookConfig, type WebhookConfig } from './config.js';
import { WEBHOOK_ERRORS } from './errors.js';
import { registerWebhookRoutes, type WebhookTransient } from './routes.js';
import { verifyWebhookAuth } from './verify.js';

/**
 * WEBHOOK: any HTTP request to /api/v1/public{webhook_path}. The path is the index key and belongs to one
 * workflow; method and per-trigger authentication are checked before anything is stored.
 */
export const webhookKind = defineKind<WebhookConfig>({
  id: 'WEBHOOK',
  description:
    'HTTP request to /api/v1/public{webhook_path}; optional header token or Standard Webhooks signature',
  resumeModes: ['latest', 'correlated', 'never'],
  uniqueIndexKey: { code: 'SCHED_WEBHOOK_PATH_TAKEN' },
  errors: WEBHOOK_ERRORS,
  parseConfig: (raw, ctx) => parseWebhookConfig(raw, ctx.workflowId),
  indexKey: (config) => config.webhook_path,
  match: () => ({ matched: true }),
  admit(event, candidates) {
    const trigger = candidates[0];
    if (!trigger)
      return new AppError('SCHED_WEBHOOK_NOT_FOUND', `no webhook is registered at ${event.indexKey}`);
    const t = event.transient as WebhookTransient;
    if (!trigger.config.methods.includes(t.method as WebhookConfig['methods'][number])) {
      return new AppError('SCHED_METHOD_NOT_ALLOWED', `${t.method} is not accepted here`, {
        headers: { allow: trigger.config.methods.join(', ') },
      });
    }
    if (!verifyWebhookAuth(trigger.config, t.headers, t.rawBody, event.receivedAt).ok) {
      // One opaque answer whatever failed (protocols.md §10).
      return new AppError('SCHED_WEBHOOK_AUTH_FAILED');
    }
    if (!trigger.enabled || trigger.status !== 'active') {
      return new AppError('SCHED_TRIGGER_DISABLED', 'this webhook is paused');
    }
    return undefined;
  },
  publicConfig: ({ token_sha256: _t, signing_secret: _s, ...rest }) => rest,
  registerRoutes: registerWebhookRoutes,
});
