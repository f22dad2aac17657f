import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlotHeap } from '../../../src/triggers/cron/heap.js';

describe('SlotHeap', () => {
  it('pops slots in key order whatever the sequence of sets, moves and removals', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('set' as const),
        slot: fc.nat(300),
        key: fc.integer({ min: -1e6, max: 1e6 }),
      }),
      fc.record({ kind: fc.constant('remove' as const), slot: fc.nat(300) }),
      fc.record({ kind: fc.constant('pop' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const heap = new SlotHeap(4);
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            heap.set(o.slot, o.key);
            model.set(o.slot, o.key);
          } else if (o.kind === 'remove') {
            expect(heap.remove(o.slot)).toBe(model.delete(o.slot));
          } else {
            const min = Math.min(...model.values());
            const slot = heap.pop();
            if (model.size === 0) expect(slot).toBe(-1);
            else {
              expect(model.get(slot)).toBe(min);
              model.delete(slot);
            }
          }
          expect(heap.size).toBe(model.size);
          expect(heap.peekKey()).toBe(model.size ? Math.min(...model.values()) : Number.POSITIVE_INFINITY);
        }
        const drained: number[] = [];
        while (heap.size) drained.push(heap.keyOf(heap.peekSlot())!, heap.pop());
        const keys = drained.filter((_, i) => i % 2 === 0);
        expect(keys).toEqual([...model.values()].sort((a, b) => a - b));
      }),
    );
  });

  it('holds 100k slots in typed arrays', () => {
    const heap = new SlotHeap();
    for (let i = 0; i < 100_000; i++) heap.set(i, (i * 7919) % 100_003);
    let last = Number.NEGATIVE_INFINITY;
    let n = 0;
    while (heap.size) {
      const k = heap.peekKey();
      expect(k).toBeGreaterThanOrEqual(last);
      last = k;
      heap.pop();
      n++;
    }
    expect(n).toBe(100_000);
  });
});
