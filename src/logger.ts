import pino, { type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** Paths never written in clear (protocols.md §10). Headers are lower-cased by Node. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-hub-signature"]',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-slack-signature"]',
  'req.headers["x-goog-channel-token"]',
  'req.headers["x-webhook-token"]',
  'req.headers["webhook-signature"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.token',
  '*.secret',
  '*.auth_token',
  '*.access_token',
  '*.refresh_token',
  '*.apiKey',
  '*.jwtSecret',
];

export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'workflow_scheduler' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(config.logFormat === 'pretty'
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard' } } }
      : {}),
  });
}
