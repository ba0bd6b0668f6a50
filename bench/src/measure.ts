import type { TcpProxy } from '@polystore/testing';
import { Bench } from 'tinybench';
import type { OpFn } from './operation.js';
import { median, quantile, shuffled } from './rounds.js';

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

/** Latency percentiles of one task at concurrency 1. */
export interface Latency {
  /** ms; with rounds, the median of the rounds' p50. */
  readonly p50: number;
  /** ms; with rounds, over the samples of every round pooled. */
  readonly p99: number;
  readonly samples: number;
  /** Each round's p50, in round order (only from {@link measureRounds}). */
  readonly p50Rounds?: readonly number[];
  /** Client CPU (user + system) per call at concurrency 1, µs: median of the rounds. */
  readonly cpuUsPerCall?: number;
  /** Server time per call at concurrency 1, µs, where the server can say: median of the rounds. */
  readonly serverUsPerCall?: number;
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
  /** Latency p50 under that load, in ms. */
  readonly p50: number;
  /** Each round's ops/s, in round order (only from {@link measureRounds}). */
  readonly opsRounds?: readonly number[];
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
  proxy: TcpProxy,
  calls: number,
): Promise<Outcome<RoundTrips>> {
  try {
    for (let i = 0; i < Math.min(5, calls); i++) await fn();
    proxy.resetCounts();
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await fn();
    const busy = { exchanges: proxy.exchanges, sequential: proxy.sequential };
    proxy.resetCounts();
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

/**
 * Time the server spent on the calls since the last reset, where the server can say
 * (`pg_stat_statements`, Redis `INFO commandstats`); blocks run one at a time, so what the
 * server reports between a reset and a read belongs to one subject.
 */
export interface ServerClock {
  /** Starts counting from zero. */
  reset(): Promise<void>;
  /** Server time since the last reset, in µs. */
  elapsedUs(): Promise<number>;
  /** Releases its connection. */
  close(): Promise<void>;
}

/** How many rounds of shuffled blocks, and each block's timings. */
export interface RoundsOptions extends MeasureOptions {
  /** Rounds: every task runs one latency block and one throughput block per round. */
  readonly rounds: number;
  /** Latency blocks only (the throughput figures are then missing). */
  readonly latencyOnly?: boolean;
}

/** The shortest latency slice: long enough that the switch between tasks is noise. */
const MIN_SLICE_MS = 10;
/** Slices per latency block at most. */
const MAX_SLICES = 10;

/** Slices of a latency block of `timeMs`: one per 10 ms, 10 at most, at least one. */
export function latencySlices(timeMs: number): number {
  return Math.max(1, Math.min(MAX_SLICES, Math.floor(timeMs / MIN_SLICE_MS)));
}

interface TaskRounds {
  readonly p50: number[];
  readonly samples: number[];
  readonly cpu: number[];
  readonly server: number[];
  readonly ops: number[];
  readonly concP50: number[];
  /** Why its latency blocks stopped, if they did. */
  latencyError?: string;
  /** Why its throughput blocks stopped, if they did. */
  throughputError?: string;
}

/** Calls `fn` one at a time for at least `ms` and `minCalls` calls; each call's latency in ms. */
async function sequentialBlock(fn: OpFn, ms: number, minCalls: number): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end || out.length < minCalls) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

/** `width` callers in a loop for `ms`: each completed call's latency and the wall time, in ms. */
async function concurrentBlock(
  fn: OpFn,
  ms: number,
  width: number,
): Promise<{ latencies: number[]; wallMs: number }> {
  const latencies: number[] = [];
  const t0 = performance.now();
  const end = t0 + ms;
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await fn();
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return { latencies, wallMs: performance.now() - t0 };
}

/**
 * The shortest throughput slice. A slice ends with its calls in flight draining; on a
 * server-bound call they drain at the rate the slice ran at, so the drain does not bias
 * the slice's ops/s, but it must stay short beside the slice.
 */
const MIN_THROUGHPUT_SLICE_MS = 30;
/** Slices per throughput block at most. */
const MAX_THROUGHPUT_SLICES = 10;

/**
 * The shortest block of the warm-up round, in ms: a full run's block. With `--quick`'s
 * 60 ms blocks, a warm-up round as long as the others left polystore's code still being
 * compiled in the first recorded round. There, each p50 ratio against the median of the
 * other rounds was, on median over the ratios, 1.06, 1.05 and 1.06 in the quick runs t1,
 * t2 and r1 (1.01 in r2, n1, n2; 1.00 in four full runs), and that round was polystore's
 * worst for 44 of the 94 p50 ratios of t1 and t2 (1 in 5 by chance).
 */
export const WARMUP_ROUND_MIN_MS = 300;

/** Slices of a throughput block of `timeMs`: one per 30 ms, 10 at most, at least one. */
export function throughputSlices(timeMs: number): number {
  return Math.max(1, Math.min(MAX_THROUGHPUT_SLICES, Math.floor(timeMs / MIN_THROUGHPUT_SLICE_MS)));
}

/**
 * Latency and throughput of several implementations of one operation, measured in
 * `rounds` rounds: each round warms every task up and runs its latency block (calls one at
 * a time) cut into slices ({@link latencySlices}) that alternate between the tasks in a new
 * random order per slice, then does the same for the throughput blocks (`concurrency` in
 * flight, {@link throughputSlices}). Drift in the machine's load (other processes share its
 * cores) thus falls on every task alike, within tens of milliseconds, and the
 * per-round figures give a spread: a ratio is taken between tasks of the same round. A task
 * that throws stops being measured and reports the error.
 *
 * A warm-up round comes first and is not recorded: in the first round the JIT is still
 * compiling each task's code (the more code a task runs, the longer), and a block's own
 * warm-up is too short for that. In 8 full PostgreSQL runs the first recorded round was
 * polystore's worst of the 7 for 71 of 128 p50 ratios (1 in 7 by chance; `round-stats.ts`).
 */
export async function measureRounds(
  tasks: readonly NamedFn[],
  options: RoundsOptions,
  clock?: ServerClock,
): Promise<{
  latency: Map<string, Outcome<Latency>>;
  throughput: Map<string, Outcome<Throughput>>;
}> {
  const figures = new Map<string, TaskRounds>(
    tasks.map((t) => [t.name, { p50: [], samples: [], cpu: [], server: [], ops: [], concP50: [] }]),
  );
  const pooled = new Map<string, number[]>(tasks.map((t) => [t.name, []]));
  // A failed call stops that task's blocks of that kind; its other kind goes on, so a call
  // that times out only with many in flight still has its latency measured.
  const guarded = async (
    t: NamedFn,
    kind: 'latencyError' | 'throughputError',
    block: () => Promise<void>,
  ) => {
    const f = figures.get(t.name) as TaskRounds;
    if (f[kind] !== undefined) return;
    try {
      await block();
    } catch (err) {
      f[kind] = reasonOf(err);
    }
  };
  const slices = latencySlices(options.timeMs);
  const sliceMin = Math.ceil(options.minIterations / slices);
  // Round -1 is the warm-up round: measured as the others, its figures dropped, its blocks
  // at least WARMUP_ROUND_MIN_MS long.
  for (let round = -1; round < options.rounds; round++) {
    const recorded = round >= 0;
    const timeMs = recorded ? options.timeMs : Math.max(options.timeMs, WARMUP_ROUND_MIN_MS);
    const sliceMs = timeMs / slices;
    // The latency blocks, interleaved: every task warms up, then each slice runs one piece
    // of every task's block, in a new random order. A task's round figures are those of
    // its slices together (p50 over their calls; CPU and server time summed over them).
    const block = new Map<string, { lat: number[]; cpuUs: number; serverUs: number | undefined }>(
      tasks.map((t) => [t.name, { lat: [], cpuUs: 0, serverUs: undefined }]),
    );
    for (const t of shuffled(tasks)) {
      await guarded(t, 'latencyError', async () => {
        await sequentialBlock(t.fn, options.warmupMs, Math.min(3, options.minIterations));
      });
    }
    for (let s = 0; s < slices; s++) {
      for (const t of shuffled(tasks)) {
        await guarded(t, 'latencyError', async () => {
          const b = block.get(t.name) as NonNullable<ReturnType<typeof block.get>>;
          await clock?.reset();
          const cpu0 = process.cpuUsage();
          const lat = await sequentialBlock(t.fn, sliceMs, sliceMin);
          const cpu = process.cpuUsage(cpu0);
          const server = await clock?.elapsedUs();
          if (server !== undefined) b.serverUs = (b.serverUs ?? 0) + server;
          b.cpuUs += cpu.user + cpu.system;
          // One block of a fast embedded call holds more samples than a call may take arguments.
          for (const v of lat) b.lat.push(v);
        });
      }
    }
    for (const t of tasks) {
      const f = figures.get(t.name) as TaskRounds;
      const b = block.get(t.name);
      if (!recorded || f.latencyError !== undefined || b === undefined || b.lat.length === 0)
        continue;
      if (b.serverUs !== undefined) f.server.push(b.serverUs / b.lat.length);
      f.cpu.push(b.cpuUs / b.lat.length);
      const pool = pooled.get(t.name);
      if (pool) for (const v of b.lat) pool.push(v);
      b.lat.sort((x, y) => x - y);
      f.p50.push(quantile(b.lat, 0.5));
      f.samples.push(b.lat.length);
    }
    // The throughput blocks, interleaved the same way in fewer, longer slices.
    if (options.latencyOnly) continue;
    const wave = new Map<string, { latencies: number[]; wallMs: number }>(
      tasks.map((t) => [t.name, { latencies: [], wallMs: 0 }]),
    );
    for (const t of shuffled(tasks)) {
      await guarded(t, 'throughputError', async () => {
        await concurrentBlock(t.fn, options.warmupMs, options.concurrency);
      });
    }
    const waves = throughputSlices(options.timeMs);
    for (let s = 0; s < waves; s++) {
      for (const t of shuffled(tasks)) {
        await guarded(t, 'throughputError', async () => {
          const w = wave.get(t.name) as { latencies: number[]; wallMs: number };
          const c = await concurrentBlock(t.fn, timeMs / waves, options.concurrency);
          for (const v of c.latencies) w.latencies.push(v);
          w.wallMs += c.wallMs;
        });
      }
    }
    for (const t of tasks) {
      const f = figures.get(t.name) as TaskRounds;
      const w = wave.get(t.name);
      if (!recorded || f.throughputError !== undefined || w === undefined || w.wallMs === 0)
        continue;
      w.latencies.sort((x, y) => x - y);
      f.ops.push((w.latencies.length * 1000) / w.wallMs);
      f.concP50.push(quantile(w.latencies, 0.5));
    }
  }
  const latency = new Map<string, Outcome<Latency>>();
  const throughput = new Map<string, Outcome<Throughput>>();
  for (const t of tasks) {
    const f = figures.get(t.name) as TaskRounds;
    if (options.latencyOnly) {
      throughput.set(t.name, { ok: false, reason: 'latency only' });
    } else if (f.throughputError !== undefined) {
      throughput.set(t.name, { ok: false, reason: f.throughputError });
    } else {
      throughput.set(t.name, {
        ok: true,
        value: {
          opsPerSecond: median(f.ops),
          operations: Math.round(f.ops.reduce((a, b) => a + b, 0) * (options.timeMs / 1000)),
          p50: median(f.concP50),
          opsRounds: f.ops,
        },
      });
    }
    if (f.latencyError !== undefined) {
      latency.set(t.name, { ok: false, reason: f.latencyError });
      continue;
    }
    const all = (pooled.get(t.name) ?? []).sort((a, b) => a - b);
    latency.set(t.name, {
      ok: true,
      value: {
        p50: median(f.p50),
        p99: quantile(all, 0.99),
        samples: all.length,
        p50Rounds: f.p50,
        cpuUsPerCall: median(f.cpu),
        ...(f.server.length > 0 ? { serverUsPerCall: median(f.server) } : {}),
      },
    });
  }
  return { latency, throughput };
}
