import type { Queryable } from '../db/db.js';
import { findByIndexKeys, readTriggerIndexVersion } from '../db/triggers.sql.js';
import type { TriggerRow } from '../triggers/types.js';

/** Index keys kept at most; past that the cache starts over (keys come from requests, so unbounded otherwise). */
const MAX_KEYS = 10_000;

export interface IndexKeyLookup {
  kind: string;
  indexKey: string;
}

export const indexKeyOf = (k: IndexKeyLookup): string => `${k.kind}\u0000${k.indexKey}`;

/** Triggers under each key, read from trigger_index (every key present, with [] when none). */
export async function triggersByKey(
  q: Queryable,
  keys: readonly IndexKeyLookup[],
): Promise<Map<string, TriggerRow[]>> {
  const byKey = new Map<string, TriggerRow[]>(keys.map((k) => [indexKeyOf(k), []]));
  for (const t of await findByIndexKeys(q, keys)) byKey.get(indexKeyOf(t))?.push(t);
  return byKey;
}

/**
 * Phase one of routing without a round trip: the triggers under each (kind, index key), as of one
 * trigger_index version. Each answer comes with that version, and the inbox write stores nothing unless
 * it is still the database's (writeInbox's `routedAt`, checked in the same statement), so a cached answer
 * is never acted on once any replica has changed a trigger; the caller then invalidates and routes again.
 */
export class RouteCache {
  private version: string | null = null;
  private readonly byKey = new Map<string, TriggerRow[]>();

  async lookup(
    q: Queryable,
    keys: readonly IndexKeyLookup[],
  ): Promise<{ candidates: Map<string, TriggerRow[]>; version: string }> {
    const cachedVersion = this.version;
    // Empty whenever its version is unknown, so then every key is missing.
    const missing = keys.filter((k) => !this.byKey.has(indexKeyOf(k)));
    if (cachedVersion !== null && missing.length === 0) {
      return {
        candidates: new Map(keys.map((k) => [indexKeyOf(k), this.byKey.get(indexKeyOf(k)) ?? []])),
        version: cachedVersion,
      };
    }
    // The version is read before the rows: rows read after it are at least as new, and a change that
    // commits between the two reads moves the version past it, so the write refuses them. Rows cached at
    // an older version are never answered under a newer one.
    const version = await readTriggerIndexVersion(q);
    const loaded = await triggersByKey(q, version === cachedVersion ? missing : keys);
    const candidates = new Map<string, TriggerRow[]>();
    for (const k of keys) {
      const key = indexKeyOf(k);
      candidates.set(key, loaded.get(key) ?? this.byKey.get(key) ?? []);
    }
    // Kept unless another lookup moved the cache on meanwhile.
    if (this.version === cachedVersion) {
      if (version !== cachedVersion || this.byKey.size + loaded.size > MAX_KEYS) {
        this.byKey.clear();
        this.version = version;
      }
      for (const [key, rows] of loaded) this.byKey.set(key, rows);
    }
    return { candidates, version };
  }

  /** Forgets everything (the inbox write found the version moved on). */
  invalidate(): void {
    this.version = null;
    this.byKey.clear();
  }
}
