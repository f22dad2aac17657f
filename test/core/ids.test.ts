import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/ids.js';

describe('uuidv7', () => {
  it('is an RFC 9562 version 7 UUID carrying the millisecond, ordered by time', () => {
    const at = Date.UTC(2026, 10, 28, 9, 0, 0, 123);
    const id = uuidv7(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
    const later = uuidv7(at + 1);
    expect(later > id).toBe(true);
    // Text order is time order across a wide span (what the primary-key index sees).
    const times = [0, 1, 255, 256, 65_536, at, 2 ** 47, 2 ** 48 - 1];
    const ids = times.map((t) => uuidv7(t));
    expect([...ids].sort()).toEqual(ids);
  });

  it('differs within one millisecond', () => {
    const ids = new Set(Array.from({ length: 5_000 }, () => uuidv7(1_000)));
    expect(ids.size).toBe(5_000);
    for (const id of ids) expect(id.startsWith('00000000-03e8-7')).toBe(true);
  });
});
