import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(16 * 256);
let offset = pool.length;

/**
 * A UUIDv7 (RFC 9562): the Unix time in milliseconds in the first 48 bits, then 74 random bits. Rows of
 * the event inbox and the dispatch outbox take these ids, so their primary keys (and the dispatches'
 * unique key, which starts with the event id) grow at their right edge: an insert touches the last few
 * index pages instead of any page of the whole index, which stop fitting in shared buffers as the
 * tables grow.
 */
export function uuidv7(epochMs: number): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const b = pool.subarray(offset, offset + 16);
  offset += 16;
  b.writeUIntBE(Math.max(0, Math.floor(epochMs)), 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
