/** Where stores get the time from: injected, never the server's, so every adapter is deterministic under test. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The system clock. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/**
 * A clock that moves only when told, for tests.
 *
 * @example
 * ```ts
 * const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
 * clock.advance(1000);
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  constructor(start = 0) {
    this.#now = start;
  }
  /** The current manual time. */
  now(): number {
    return this.#now;
  }
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.#now += ms;
  }
  /** Sets the clock. */
  set(ms: number): void {
    this.#now = ms;
  }
}

/**
 * A clock that never goes backwards and advances at least 1 ms per call: two writes
 * of the same record always get distinct, ordered `updatedAt` values.
 */
export function monotonicClock(base: Clock = systemClock): Clock {
  let last = 0;
  return {
    now() {
      const t = Math.max(base.now(), last + 1);
      last = t;
      return t;
    },
  };
}
