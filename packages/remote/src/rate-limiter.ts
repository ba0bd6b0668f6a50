/** A token bucket per caller: `perSecond` sustained, `burst` at once. */
export class RateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(perSecond: number, burst: number) {
    this.#perSecond = perSecond;
    this.#burst = burst;
  }

  /** Takes one token for `key`; `false` when the caller is over its rate. */
  take(key: string, now: number = performance.now()): boolean {
    let b = this.#buckets.get(key);
    if (!b) {
      // Bounded memory: forget idle callers (a full bucket carries no state worth keeping).
      if (this.#buckets.size >= 10_000) this.#buckets.clear();
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(key, b);
    }
    b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * this.#perSecond);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
