import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8003);
    expect(c.engineUrl).toBe('http://localhost:8002');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toBe('./data');
    expect(c.redisUrl).toBeUndefined();
    expect(c.timezone).toBe('UTC');
    expect(c.logFormat).toBe('json');
    expect(c.auth.configured).toBe(false);
    // Open mode listens on loopback only.
    expect(c.host).toBe('127.0.0.1');
    expect(c.dispatch).toMatchObject({
      maxAttempts: 10,
      backoffBaseMs: 1000,
      backoffCapMs: 300_000,
      engineTimeoutMs: 10_000,
    });
    expect(c.webhookBodyLimit).toBe(1_048_576);
  });

  it('binds all interfaces once authentication is configured', () => {
    expect(loadConfig({ SCHEDULER_API_KEY: 'k'.repeat(32) }).host).toBe('0.0.0.0');
  });

  it.each([
    ['PORT', 'eighty', /PORT/],
    ['PORT', '70000', /PORT/],
    ['WORKFLOW_ENGINE_URL', 'not a url', /WORKFLOW_ENGINE_URL/],
    ['DATABASE_URL', 'nope', /DATABASE_URL/],
    ['SCHEDULER_TIMEZONE', 'Mars/Olympus', /SCHEDULER_TIMEZONE: must be an IANA time zone/],
    ['LOG_FORMAT', 'xml', /LOG_FORMAT/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL/],
    ['DISPATCH_MAX_ATTEMPTS', '0', /DISPATCH_MAX_ATTEMPTS/],
    ['JWT_SECRET', 'short', /JWT_SECRET: must be at least 32 characters$/],
    ['DATABASE_SCHEMA', 'Bad-Schema', /DATABASE_SCHEMA/],
  ])('rejects %s=%s with one line naming the variable', (name, value, pattern) => {
    let err: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(name);
    expect((err as Error).message).toMatch(pattern);
    expect((err as Error).message).not.toContain('\n');
  });

  it('never echoes a secret value', () => {
    expect(() => loadConfig({ SCHEDULER_API_KEY: 'tiny' })).toThrow(
      /^SCHEDULER_API_KEY: must be at least 16 characters$/,
    );
  });

  it('checks settings against each other', () => {
    expect(() => loadConfig({ DISPATCH_BACKOFF_BASE_MS: '5000', DISPATCH_BACKOFF_CAP_MS: '100' })).toThrow(
      /^DISPATCH_BACKOFF_CAP_MS/,
    );
    expect(() => loadConfig({ ENGINE_TIMEOUT_MS: '60000', DISPATCH_LEASE_MS: '30000' })).toThrow(
      /^DISPATCH_LEASE_MS/,
    );
    expect(() => loadConfig({ JWT_ISSUER: 'https://issuer' })).toThrow(/^JWT_ISSUER/);
  });

  it('refuses to expose an unauthenticated API on a public interface', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(
      /^HOST: 0\.0\.0\.0 would expose an API without authentication/,
    );
    expect(loadConfig({ HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0', SCHEDULER_API_KEY: 'k'.repeat(20) }).host).toBe('0.0.0.0');
  });
});
