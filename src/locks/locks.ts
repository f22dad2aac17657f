import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Clock } from '../clock.js';

/**
 * Locks that cut contention between replicas (one evaluates a cron tick, one holds a mailbox). They
 * never decide correctness: unique constraints in PostgreSQL do (protocols.md §7).
 */
export interface Lock {
  key: string;
  token: string;
}

export interface LockManager {
  readonly kind: 'in-process' | 'redis';
  /** SET NX PX: resolves a lock, or null when someone else holds the key. Never throws: a failing lock server means "no lock". */
  acquire(key: string, ttlMs: number): Promise<Lock | null>;
  /** Compare-and-delete: only the holder's token releases the key. */
  release(lock: Lock): Promise<void>;
  /** Compare-and-PEXPIRE. */
  extend(lock: Lock, ttlMs: number): Promise<boolean>;
  health(): Promise<{ kind: string; ok: boolean; error?: string }>;
  close(): Promise<void>;
}

const token = () => randomBytes(20).toString('hex');

export class InProcessLocks implements LockManager {
  readonly kind = 'in-process' as const;
  private readonly held = new Map<string, { token: string; until: number }>();
  constructor(private readonly clock: Clock) {}

  async acquire(key: string, ttlMs: number): Promise<Lock | null> {
    const now = this.clock.now();
    const cur = this.held.get(key);
    if (cur && cur.until > now) return null;
    const t = token();
    this.held.set(key, { token: t, until: now + ttlMs });
    return { key, token: t };
  }

  async release(lock: Lock): Promise<void> {
    if (this.held.get(lock.key)?.token === lock.token) this.held.delete(lock.key);
  }

  async extend(lock: Lock, ttlMs: number): Promise<boolean> {
    const cur = this.held.get(lock.key);
    if (cur?.token !== lock.token || cur.until <= this.clock.now()) return false;
    cur.until = this.clock.now() + ttlMs;
    return true;
  }

  async health() {
    return { kind: this.kind, ok: true };
  }

  async close(): Promise<void> {
    this.held.clear();
  }
}

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export class RedisLocks implements LockManager {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix = 'wfsched:lock:',
  ) {
    this.redis = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 2_000,
    });
    // Errors surface through acquire()/health(); without a listener ioredis would log them unhandled.
    this.redis.on('error', () => {});
  }

  async acquire(key: string, ttlMs: number): Promise<Lock | null> {
    const t = token();
    try {
      const r = await this.redis.set(this.prefix + key, t, 'PX', ttlMs, 'NX');
      return r === 'OK' ? { key, token: t } : null;
    } catch {
      return null;
    }
  }

  async release(lock: Lock): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.prefix + lock.key, lock.token).catch(() => {});
  }

  async extend(lock: Lock, ttlMs: number): Promise<boolean> {
    try {
      return (await this.redis.eval(EXTEND, 1, this.prefix + lock.key, lock.token, String(ttlMs))) === 1;
    } catch {
      return false;
    }
  }

  async health() {
    try {
      await this.redis.ping();
      return { kind: this.kind, ok: true };
    } catch (err) {
      return { kind: this.kind, ok: false, error: (err as Error).message };
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

export function createLockManager(opts: {
  redisUrl: string | undefined;
  clock: Clock;
  prefix?: string;
}): LockManager {
  return opts.redisUrl ? new RedisLocks(opts.redisUrl, opts.prefix) : new InProcessLocks(opts.clock);
}
