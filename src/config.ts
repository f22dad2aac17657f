import { z } from 'zod';

/**
 * Configuration from the environment. Every variable is listed in the README's configuration table;
 * `loadConfig` throws ConfigError naming the first invalid variable, and main.ts prints that one line.
 */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const url = z.string().url();
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => ['true', '1', 'yes'].includes(v));
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const schema = {
  PORT: int(0, 65535).default(8003),
  HOST: optionalString,
  WORKFLOW_ENGINE_URL: url.default('http://localhost:8002'),
  DATABASE_URL: optionalString.pipe(url.optional()),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
    .default('public'),
  DATABASE_POOL_SIZE: int(1, 200).default(10),
  DATA_DIR: z.string().min(1).default('./data'),
  REDIS_URL: optionalString.pipe(url.optional()),
  SCHEDULER_TIMEZONE: z
    .string()
    .refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin')
    .default('UTC'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  SCHEDULER_API_KEY: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  JWT_SECRET: optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
  JWT_JWKS_URL: optionalString.pipe(url.optional()),
  JWT_ISSUER: optionalString,
  JWT_AUDIENCE: optionalString,
  JWT_ALGORITHMS: z
    .string()
    .default('RS256,ES256')
    .transform((s) => s.split(',').map((a) => a.trim()))
    .pipe(z.array(z.enum(['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'EdDSA'])).min(1)),
  TRUST_PROXY: bool.default(false),
  DISPATCH_MAX_ATTEMPTS: int(1, 100).default(10),
  DISPATCH_BACKOFF_BASE_MS: int(1, 3_600_000).default(1_000),
  DISPATCH_BACKOFF_CAP_MS: int(1, 86_400_000).default(300_000),
  DISPATCH_CONCURRENCY: int(1, 10_000).default(64),
  DISPATCH_LEASE_MS: int(1_000, 3_600_000).default(60_000),
  DISPATCH_POLL_INTERVAL_MS: int(10, 60_000).default(1_000),
  DISPATCH_IDLE_POLL_MAX_MS: int(10, 600_000).default(8_000),
  ENGINE_TIMEOUT_MS: int(100, 600_000).default(10_000),
  MANUAL_WAIT_MS: int(0, 60_000).default(5_000),
  WEBHOOK_BODY_LIMIT_BYTES: int(1_024, 100 * 1024 * 1024).default(1_048_576),
  INGEST_MAX_BATCH: int(1, 10_000).default(500),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(15_000),
  EVENT_RETENTION_DAYS: int(1, 3_650).default(30),
  // --- GITHUB (src/triggers/github) ---
  GITHUB_WEBHOOK_SECRET: optionalString,
  GITHUB_APP_ID: optionalString.pipe(z.string().regex(/^\d+$/, 'must be the numeric App id').optional()),
  GITHUB_APP_PRIVATE_KEY: optionalString,
  GITHUB_API_URL: url.default('https://api.github.com'),
  GITHUB_API_TIMEOUT_MS: int(100, 9_000).default(5_000),
  // --- SLACK and human-in-the-loop (src/triggers/slack, src/hil) ---
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_ID: optionalString,
  SLACK_BOT_TOKEN: optionalString,
  SLACK_API_URL: url.default('https://slack.com/api/'),
  SLACK_BODY_LIMIT_BYTES: int(1_024, 10 * 1024 * 1024).default(524_288),
  // 32 bytes for AES-256-GCM: 64 hex characters, or base64 / base64url (`openssl rand -base64 32`).
  CREDENTIALS_KEY: optionalString.pipe(
    z
      .string()
      .trim()
      .regex(
        /^(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)$/,
        'must be 32 bytes: 64 hex characters or base64 (openssl rand -base64 32)',
      )
      .optional(),
  ),
  HIL_LOOKBACK_SECONDS: int(0, 86_400).default(300),
  // --- CRON (src/triggers/cron) ---
  CRON_MISFIRE_GRACE_MS: int(0, 86_400_000).default(60_000),
  CRON_CLAIM_LEASE_MS: int(1_000, 3_600_000).default(15_000),
  CRON_LOCK_WAIT_MS: int(100, 600_000).default(2_000),
  CRON_RECONCILE_INTERVAL_MS: int(100, 3_600_000).default(30_000),
  CRON_FIRE_RETENTION_DAYS: int(1, 3_650).default(30),
  CRON_LOOKAHEAD_MS: int(0, 10_000).default(1_000),
};

const configSchema = z
  .object(schema)
  .superRefine((c, ctx) => {
    if (c.DISPATCH_BACKOFF_CAP_MS < c.DISPATCH_BACKOFF_BASE_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['DISPATCH_BACKOFF_CAP_MS'],
        message: 'must not be below DISPATCH_BACKOFF_BASE_MS',
      });
    }
    if (c.ENGINE_TIMEOUT_MS >= c.DISPATCH_LEASE_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['DISPATCH_LEASE_MS'],
        message: 'must be longer than ENGINE_TIMEOUT_MS, or a slow engine call could be claimed twice',
      });
    }
    if ((c.JWT_ISSUER || c.JWT_AUDIENCE) && !c.JWT_SECRET && !c.JWT_JWKS_URL) {
      ctx.addIssue({
        code: 'custom',
        path: [c.JWT_ISSUER ? 'JWT_ISSUER' : 'JWT_AUDIENCE'],
        message: 'is set but neither JWT_SECRET nor JWT_JWKS_URL is',
      });
    }
  })
  .transform((c) => {
    const authConfigured = Boolean(c.SCHEDULER_API_KEY || c.JWT_SECRET || c.JWT_JWKS_URL);
    return {
      port: c.PORT,
      // Without any credential the API is open, so it only listens on loopback unless told otherwise.
      host: c.HOST ?? (authConfigured ? '0.0.0.0' : '127.0.0.1'),
      hostExplicit: c.HOST !== undefined,
      engineUrl: c.WORKFLOW_ENGINE_URL.replace(/\/+$/, ''),
      databaseUrl: c.DATABASE_URL,
      databaseSchema: c.DATABASE_SCHEMA,
      databasePoolSize: c.DATABASE_POOL_SIZE,
      dataDir: c.DATA_DIR,
      redisUrl: c.REDIS_URL,
      timezone: c.SCHEDULER_TIMEZONE,
      logLevel: c.LOG_LEVEL,
      logFormat: c.LOG_FORMAT,
      auth: {
        apiKey: c.SCHEDULER_API_KEY,
        jwtSecret: c.JWT_SECRET,
        jwksUrl: c.JWT_JWKS_URL,
        issuer: c.JWT_ISSUER,
        audience: c.JWT_AUDIENCE,
        jwksAlgorithms: c.JWT_ALGORITHMS,
        configured: authConfigured,
      },
      trustProxy: c.TRUST_PROXY,
      dispatch: {
        maxAttempts: c.DISPATCH_MAX_ATTEMPTS,
        backoffBaseMs: c.DISPATCH_BACKOFF_BASE_MS,
        backoffCapMs: c.DISPATCH_BACKOFF_CAP_MS,
        concurrency: c.DISPATCH_CONCURRENCY,
        leaseMs: c.DISPATCH_LEASE_MS,
        pollIntervalMs: c.DISPATCH_POLL_INTERVAL_MS,
        idlePollMaxMs: c.DISPATCH_IDLE_POLL_MAX_MS,
        engineTimeoutMs: c.ENGINE_TIMEOUT_MS,
      },
      manualWaitMs: c.MANUAL_WAIT_MS,
      webhookBodyLimit: c.WEBHOOK_BODY_LIMIT_BYTES,
      ingestMaxBatch: c.INGEST_MAX_BATCH,
      shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_MS,
      // Events (and their dispatches, once finished) are deleted this long after their last activity.
      eventRetentionDays: c.EVENT_RETENTION_DAYS,
      github: {
        webhookSecret: c.GITHUB_WEBHOOK_SECRET,
        appId: c.GITHUB_APP_ID,
        // Multi-line PEM keys often arrive with literal \n in environment files.
        appPrivateKey: c.GITHUB_APP_PRIVATE_KEY?.replace(/\\n/g, '\n'),
        apiUrl: c.GITHUB_API_URL.replace(/\/+$/, ''),
        // Budget for API calls a delivery waits for (changed files), well inside GitHub's 10 s deadline.
        apiTimeoutMs: c.GITHUB_API_TIMEOUT_MS,
      },
      slack: {
        signingSecret: c.SLACK_SIGNING_SECRET,
        appId: c.SLACK_APP_ID,
        botToken: c.SLACK_BOT_TOKEN,
        apiUrl: c.SLACK_API_URL.endsWith('/') ? c.SLACK_API_URL : `${c.SLACK_API_URL}/`,
        bodyLimit: c.SLACK_BODY_LIMIT_BYTES,
      },
      credentialsKey: c.CREDENTIALS_KEY,
      hil: { lookbackSeconds: c.HIL_LOOKBACK_SECONDS },
      cron: {
        // A fire later than this (stall, downtime) goes to its trigger's catch-up policy.
        misfireGraceMs: c.CRON_MISFIRE_GRACE_MS,
        // A claimed fire not stored as an event within this is taken over by any replica.
        claimLeaseMs: c.CRON_CLAIM_LEASE_MS,
        // With REDIS_URL: how long a replica that lost a tick's lock waits before checking the claims.
        lockWaitMs: c.CRON_LOCK_WAIT_MS,
        reconcileIntervalMs: c.CRON_RECONCILE_INTERVAL_MS,
        fireRetentionDays: c.CRON_FIRE_RETENTION_DAYS,
        // Ticks are claimed and written this long before their instant; the engine call waits for it.
        lookaheadMs: c.CRON_LOOKAHEAD_MS,
      },
    };
  });

export type Config = z.output<typeof configSchema>;
export const CONFIG_VARIABLES = Object.keys(schema);

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string> = {};
  for (const name of CONFIG_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value !== '') input[name] = value;
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(variable, describeIssue(issue, input[variable]));
  }
  const config = parsed.data;
  if (!config.auth.configured && config.hostExplicit && !isLoopback(config.host)) {
    throw new ConfigError(
      'HOST',
      `${config.host} would expose an API without authentication; set SCHEDULER_API_KEY or JWT_SECRET/JWT_JWKS_URL, or bind 127.0.0.1`,
    );
  }
  return config;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function describeIssue(issue: z.core.$ZodIssue | undefined, value: string | undefined): string {
  if (!issue) return 'invalid';
  const shown =
    value === undefined
      ? ''
      : ` (got ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)})`;
  // Never echo what looks like a secret.
  const secret = issue.path.some((p) => /KEY|SECRET|PASSWORD|TOKEN/.test(String(p)));
  return `${issue.message}${secret ? '' : shown}`;
}
