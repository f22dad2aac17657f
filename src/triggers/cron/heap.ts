/**
 * An indexed binary min-heap of slot numbers keyed by a time (epoch ms), in typed arrays: 16 bytes per
 * slot, no object per entry, O(log n) push / pop / update / remove. Each slot is in the heap at most once,
 * so a rescheduled or removed schedule never leaves a stale entry behind to fire.
 */
export class SlotHeap {
  private keys: Float64Array;
  /** heap position → slot */
  private heap: Int32Array;
  /** slot → heap position, -1 when absent */
  private pos: Int32Array;
  private n = 0;

  constructor(capacity = 1024) {
    this.keys = new Float64Array(capacity);
    this.heap = new Int32Array(capacity);
    this.pos = new Int32Array(capacity).fill(-1);
  }

  get size(): number {
    return this.n;
  }

  has(slot: number): boolean {
    return slot < this.pos.length && (this.pos[slot] ?? -1) >= 0;
  }

  /** The smallest key, or Infinity when empty. */
  peekKey(): number {
    return this.n > 0 ? this.keys[this.heap[0]!]! : Number.POSITIVE_INFINITY;
  }

  peekSlot(): number {
    return this.n > 0 ? this.heap[0]! : -1;
  }

  keyOf(slot: number): number | undefined {
    return this.has(slot) ? this.keys[slot] : undefined;
  }

  /** Inserts the slot, or moves it to the new key when present. */
  set(slot: number, key: number): void {
    this.ensure(slot + 1);
    const p = this.pos[slot]!;
    if (p >= 0) {
      const old = this.keys[slot]!;
      this.keys[slot] = key;
      if (key < old) this.up(p);
      else this.down(p);
      return;
    }
    this.keys[slot] = key;
    this.heap[this.n] = slot;
    this.pos[slot] = this.n;
    this.up(this.n++);
  }

  /** Removes and returns the slot with the smallest key, or -1. */
  pop(): number {
    if (this.n === 0) return -1;
    const top = this.heap[0]!;
    this.removeAt(0);
    return top;
  }

  remove(slot: number): boolean {
    if (!this.has(slot)) return false;
    this.removeAt(this.pos[slot]!);
    return true;
  }

  clear(): void {
    for (let i = 0; i < this.n; i++) this.pos[this.heap[i]!] = -1;
    this.n = 0;
  }

  private removeAt(p: number): void {
    const slot = this.heap[p]!;
    this.pos[slot] = -1;
    const last = --this.n;
    if (p === last) return;
    const moved = this.heap[last]!;
    this.heap[p] = moved;
    this.pos[moved] = p;
    this.down(p);
    this.up(this.pos[moved]!);
  }

  private up(p: number): void {
    const { heap, keys, pos } = this;
    const slot = heap[p]!;
    const key = keys[slot]!;
    while (p > 0) {
      const parent = (p - 1) >> 1;
      const ps = heap[parent]!;
      if (keys[ps]! <= key) break;
      heap[p] = ps;
      pos[ps] = p;
      p = parent;
    }
    heap[p] = slot;
    pos[slot] = p;
  }

  private down(p: number): void {
    const { heap, keys, pos, n } = this;
    const slot = heap[p]!;
    const key = keys[slot]!;
    for (;;) {
      let child = 2 * p + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && keys[heap[right]!]! < keys[heap[child]!]!) child = right;
      const cs = heap[child]!;
      if (keys[cs]! >= key) break;
      heap[p] = cs;
      pos[cs] = p;
      p = child;
    }
    heap[p] = slot;
    pos[slot] = p;
  }

  private ensure(slots: number): void {
    if (slots <= this.pos.length) return;
    let cap = this.pos.length * 2;
    while (cap < slots) cap *= 2;
    const keys = new Float64Array(cap);
    keys.set(this.keys);
    const heap = new Int32Array(cap);
    heap.set(this.heap);
    const pos = new Int32Array(cap).fill(-1);
    pos.set(this.pos);
    this.keys = keys;
    this.heap = heap;
    this.pos = pos;
  }
}
