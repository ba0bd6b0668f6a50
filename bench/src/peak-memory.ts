/** Peak client memory during one backend's run, in bytes. */
export interface MemoryPeak {
  /** Peak resident set size of the benchmark process. */
  readonly rss: number;
  /** Peak V8 heap in use. */
  readonly heapUsed: number;
}

/**
 * Samples `process.memoryUsage()` on a timer and keeps the peaks, so a short spike during
 * a concurrent run is seen, not only the state at the end.
 */
export class PeakMemory {
  #rss = 0;
  #heapUsed = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(intervalMs = 25) {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    this.#timer.unref();
  }

  /** Stops sampling and returns the peaks. */
  stop(): MemoryPeak {
    clearInterval(this.#timer);
    this.#sample();
    return { rss: this.#rss, heapUsed: this.#heapUsed };
  }

  #sample(): void {
    const m = process.memoryUsage();
    if (m.rss > this.#rss) this.#rss = m.rss;
    if (m.heapUsed > this.#heapUsed) this.#heapUsed = m.heapUsed;
  }
}
