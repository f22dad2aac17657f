import { randomUUID } from 'node:crypto';

/**
 * A UUIDv7 (RFC 9562): the Unix time in milliseconds in the first 48 bits, then the version and 74
 * random bits, taken from a random (version 4) UUID with its variant bits. Rows of the event inbox and
 * the dispatch outbox take these ids, so their primary keys (and the dispatches' unique key, which
 * starts with the event id) grow at their right edge: an insert touches the last few index pages instead
 * of any page of the whole index, which stop fitting in shared buffers as the tables grow.
 */
export function uuidv7(epochMs: number): string {
  const t = Math.max(0, Math.floor(epochMs)).toString(16).padStart(12, '0');
  // randomUUID(): xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx; keep what follows its version digit.
  return `${t.slice(0, 8)}-${t.slice(8)}-7${randomUUID().slice(15)}`;
}
