/**
 * Time as a dependency. Production uses the system clock; tests use ManualClock and move time forward
 * explicitly, so nothing waits for wall time.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs fn once after ms (relative to now()). Timers never keep the process alive on their own. */
  setTimer(fn: () => void, ms: number): TimerHandle;
  /** Resolves after ms of this clock's time. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  sleep: (ms) =>
    new Promise((resolve) => {
      const t = setTimeout(resolve, Math.max(0, ms));
      t.unref();
    }),
};

/**
 * When to wake for work whose ideal start is `ideal`, given the last wake-up at `last`: no earlier than
 * `ideal`, and held back by at most `window` so that the work falling due within `window` of the last
 * wake-up is taken in one batch, not a wake-up (and a statement) for each item. Work already later than
 * `window` past its ideal start is not held back.
 */
export function coalescedWake(ideal: number, last: number, window: number): number {
  return Math.max(ideal, Math.min(ideal + window, last + window));
}

/**
 * One clock timer and when it goes off: a loop's next wake-up, set after each pass and brought forward
 * (never pushed back) when sooner work turns up.
 */
export class Alarm {
  private handle: TimerHandle | null = null;
  private dueAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly fn: () => void,
  ) {}

  /** Goes off in ms, replacing any earlier setting. */
  set(ms: number): void {
    this.handle?.cancel();
    this.dueAt = this.clock.now() + ms;
    this.handle = this.clock.setTimer(() => {
      this.handle = null;
      this.dueAt = Number.POSITIVE_INFINITY;
      this.fn();
    }, ms);
  }

  /** Goes off within ms: moved only when that is sooner than it is set for (or it is not set). */
  within(ms: number): void {
    if (this.clock.now() + ms < this.dueAt) this.set(ms);
  }

  cancel(): void {
    this.handle?.cancel();
    this.handle = null;
    this.dueAt = Number.POSITIVE_INFINITY;
  }
}

interface PendingTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to. Due timers run in time order during advance(). */
export class ManualClock implements Clock {
  private current: number;
  private timers: PendingTimer[] = [];
  private seq = 0;

  constructor(start: number | string | Date = '2026-01-01T00:00:00Z') {
    this.current = typeof start === 'number' ? start : new Date(start).getTime();
  }

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer: PendingTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(resolve, ms));
  }

  /** Moves time forward by ms, running each due timer at its own instant (and letting promises settle). */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      const next = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      next.cancelled = true;
      next.fn();
      await flushMicrotasks();
    }
    this.current = target;
    await flushMicrotasks();
  }

  /** Sets the time (forward only), running due timers. */
  async setTime(at: number | string | Date): Promise<void> {
    const target = typeof at === 'number' ? at : new Date(at).getTime();
    await this.advance(Math.max(0, target - this.current));
  }

  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
