import type { BackendName } from './backend-target.js';
import type { RoundsOptions } from './measure.js';

/** What one run measures and for how long. */
export interface BenchConfig {
  /** `quick`: the CI smoke run (small sizes, short timings); `full`: the report run. */
  readonly mode: 'quick' | 'full';
  /** Rounds and block timings of every latency and throughput measurement. */
  readonly measure: RoundsOptions;
  /** Calls per operation whose round trips are counted. */
  readonly roundTripCalls: number;
  /** Records matching the scale test's filter, at every size. */
  readonly scaleHot: number;
  /** The small scale (records in the store). */
  readonly scaleSmall: number;
  /** The large scale per backend. */
  readonly scaleLarge: Readonly<Record<BackendName, number>>;
  /** Time budget of each scale measurement, ms. */
  readonly scaleTimeMs: number;
  /** Loading stops after this long per backend; the report names the size reached. */
  readonly scaleLoadBudgetMs: number;
  /** Loading also stops once one list call takes longer than this (a scan, not an index). */
  readonly scaleProbeLimitMs: number;
}

/** The CI smoke run: every cell measured once, quickly; under two minutes. */
export const QUICK: BenchConfig = Object.freeze({
  mode: 'quick',
  measure: { rounds: 5, timeMs: 60, warmupMs: 15, minIterations: 3, concurrency: 32 },
  roundTripCalls: 5,
  scaleHot: 60,
  scaleSmall: 500,
  scaleLarge: {
    memory: 2_000,
    sqlite: 2_000,
    postgres: 2_000,
    redis: 2_000,
    zookeeper: 2_000,
    mongo: 2_000,
  },
  scaleTimeMs: 100,
  scaleLoadBudgetMs: 20_000,
  scaleProbeLimitMs: 1_000,
});

/** The report run: 10k against 1M records (ZooKeeper 100k). */
export const FULL: BenchConfig = Object.freeze({
  mode: 'full',
  measure: { rounds: 7, timeMs: 300, warmupMs: 50, minIterations: 20, concurrency: 32 },
  roundTripCalls: 20,
  scaleHot: 100,
  scaleSmall: 10_000,
  scaleLarge: {
    memory: 1_000_000,
    sqlite: 1_000_000,
    postgres: 1_000_000,
    redis: 1_000_000,
    zookeeper: 100_000,
    mongo: 1_000_000,
  },
  scaleTimeMs: 1_000,
  // Redis loads about 10,000 records/s through its adapter's insert on the 2-core AMD VM,
  // 6,000/s on the 2-core Intel one (890,000 in 148 s) and 4,650/s on a third 2-core VM
  // (930,000 in 200 s): 300 s reaches 1M on all three.
  scaleLoadBudgetMs: 300_000,
  scaleProbeLimitMs: 1_000,
});

/**
 * `config` with the scale test at `small` and `large` records for every backend (from
 * `--scale SMALL,LARGE`); the records matching the filter stay at most `small`.
 */
export function withScale(config: BenchConfig, spec: string | undefined): BenchConfig {
  if (spec === undefined) return config;
  const sizes = spec.split(',').map((s) => Number(s.trim()));
  const [small = Number.NaN, large = Number.NaN] = sizes;
  if (sizes.length !== 2 || !Number.isSafeInteger(small) || !Number.isSafeInteger(large)) {
    throw new RangeError(`--scale wants two whole numbers SMALL,LARGE, got ${spec}`);
  }
  if (small < 1 || large <= small) {
    throw new RangeError(`--scale wants 0 < SMALL < LARGE, got ${spec}`);
  }
  const scaleLarge = Object.fromEntries(
    Object.keys(config.scaleLarge).map((b) => [b, large]),
  ) as Record<BackendName, number>;
  return Object.freeze({
    ...config,
    scaleHot: Math.min(config.scaleHot, small),
    scaleSmall: small,
    scaleLarge,
  });
}

/**
 * `config` whose scale test may spend `seconds` loading each size (from `--scale-budget`):
 * a backend loaded through the adapter (Redis, 128 inserts in flight) needs about two
 * minutes for 1M records on a 2-core machine, past the default 60 s.
 */
export function withScaleBudget(config: BenchConfig, seconds: string | undefined): BenchConfig {
  if (seconds === undefined) return config;
  const s = Number(seconds);
  if (!Number.isFinite(s) || s <= 0) {
    throw new RangeError(`--scale-budget wants a number of seconds above 0, got ${seconds}`);
  }
  return Object.freeze({ ...config, scaleLoadBudgetMs: Math.round(s * 1000) });
}
