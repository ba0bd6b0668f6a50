import { Bench } from 'tinybench';
import type { OpFn } from './operation.js';
import type { RoundTripProxy } from './round-trip-proxy.js';

/** How long each measurement runs. */
export interface MeasureOptions {
  /** Time budget per task and mode, in ms. */
  readonly timeMs: number;
  /** Warmup budget per task, in ms. */
  readonly warmupMs: number;
  /** Minimum iterations of a sequential run. */
  readonly minIterations: number;
  /** In-flight calls of the throughput run. */
  readonly concurrency: number;
}

/** Latency percentiles of one task at concurrency 1, from tinybench. */
export interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly samples: number;
}

/** A measurement, or why there is none. */
export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

/** A task to measure: a name and its prepared call. */
export interface NamedFn {
  readonly name: string;
  readonly fn: OpFn;
}

/** The message of anything thrown. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 300);
  return String(err).slice(0, 300);
}

/**
 * Latency at concurrency 1 of several implementations of one operation, in one tinybench
 * run: the tasks run one after another against the same server, so polystore and its
 * baselines see the same conditions.
 */
export async function measureLatency(
  tasks: readonly NamedFn[],
  options: MeasureOptions,
): Promise<Map<string, Outcome<Latency>>> {
  const bench = new Bench({
    time: options.timeMs,
    iterations: options.minIterations,
    warmupTime: options.warmupMs,
    warmupIterations: Math.min(5, options.minIterations),
  });
  for (const t of tasks) bench.add(t.name, t.fn);
  await bench.run();
  const out = new Map<string, Outcome<Latency>>();
  for (const task of bench.tasks) {
    const r = task.result;
    if (r.state === 'completed') {
      out.set(task.name, {
        ok: true,
        value: { p50: r.latency.p50, p99: r.latency.p99, samples: task.runs },
      });
    } else if (r.state === 'errored') {
      out.set(task.name, { ok: false, reason: reasonOf(r.error) });
    } else {
      out.set(task.name, { ok: false, reason: `tinybench task ${r.state}` });
    }
  }
  return out;
}

/** Operations per second with `concurrency` calls in flight. */
export interface Throughput {
  readonly opsPerSecond: number;
  readonly operations: number;
  /** tinybench's latency p50 under that load, in ms. */
  readonly p50: number;
}

/**
 * Throughput with `concurrency` calls in flight (tinybench's task concurrency): the
 * operations tinybench completed divided by the wall time of its run.
 */
export async function measureThroughput(
  tasks: readonly NamedFn[],
  options: MeasureOptions,
): Promise<Map<string, Outcome<Throughput>>> {
  const bench = new Bench({
    concurrency: 'task',
    threshold: options.concurrency,
    // No iteration cap: with task concurrency a positive count would stop the run early.
    iterations: 0,
    time: options.timeMs,
    warmupTime: options.warmupMs,
    // One full wave in flight, at most: on a slow server a wave of 32 takes seconds.
    warmupIterations: Math.min(options.concurrency, Math.max(options.minIterations, 8)),
  });
  const started = new Map<string, number>();
  const elapsed = new Map<string, number>();
  for (const t of tasks) {
    const task = bench.add(t.name, t.fn).getTask(t.name);
    task?.addEventListener('start', () => started.set(t.name, performance.now()));
    task?.addEventListener('complete', () =>
      elapsed.set(t.name, performance.now() - (started.get(t.name) ?? performance.now())),
    );
  }
  await bench.run();
  const out = new Map<string, Outcome<Throughput>>();
  for (const task of bench.tasks) {
    const r = task.result;
    const ms = elapsed.get(task.name) ?? 0;
    if (r.state === 'completed' && ms > 0) {
      out.set(task.name, {
        ok: true,
        value: {
          opsPerSecond: (task.runs * 1000) / ms,
          operations: task.runs,
          p50: r.latency.p50,
        },
      });
    } else if (r.state === 'errored') {
      out.set(task.name, { ok: false, reason: reasonOf(r.error) });
    } else {
      out.set(task.name, { ok: false, reason: `tinybench task ${r.state}` });
    }
  }
  return out;
}

/** Round trips per call. */
export interface RoundTrips {
  /** Request/response exchanges per call, summed over connections. */
  readonly exchanges: number;
  /** Exchanges on the critical path: parallel requests on several connections count once. */
  readonly sequential: number;
}

const per = (n: number, calls: number) => Math.max(0, Math.round((n / calls) * 100) / 100);

/**
 * Round trips per call, counted by the proxy the client talks through: a few warm-up
 * calls (connections, prepared statements, caches), then `calls` calls one at a time. The
 * exchanges seen during an idle period as long as the calls (driver heartbeats, pings) are
 * subtracted.
 */
export async function countRoundTrips(
  fn: OpFn,
  proxy: RoundTripProxy,
  calls: number,
): Promise<Outcome<RoundTrips>> {
  try {
    for (let i = 0; i < Math.min(5, calls); i++) await fn();
    proxy.reset();
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await fn();
    const busy = { exchanges: proxy.exchanges, sequential: proxy.sequential };
    proxy.reset();
    await new Promise((resolve) => setTimeout(resolve, performance.now() - t0));
    return {
      ok: true,
      value: {
        exchanges: per(busy.exchanges - proxy.exchanges, calls),
        sequential: per(busy.sequential - proxy.sequential, calls),
      },
    };
  } catch (err) {
    return { ok: false, reason: reasonOf(err) };
  }
}
