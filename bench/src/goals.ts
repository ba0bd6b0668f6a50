import type { BackendName } from './backend-target.js';
import type { Operation } from './operation.js';
import type { BackendResult, Cell } from './run-backend.js';

/** One goal checked against a measurement; goals are reported, never asserted. */
export interface GoalCheck {
  readonly backend: BackendName;
  readonly operation?: Operation;
  /** What the goal is, e.g. `round trips <= 1`. */
  readonly goal: string;
  /** The measured value: for a ratio, the median of the rounds' ratios. */
  readonly value: number;
  /** The lowest and highest round's ratio; the goal is met only if both meet it. */
  readonly spread?: Spread;
  readonly met: boolean;
}

/** A ratio over the rounds: median and the lowest and highest round's. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Goal: polystore / raw p50 at most this on the backends below. */
export const RAW_P50_GOAL = 1.1;
/** Goal: polystore / raw throughput at least this. */
export const RAW_THROUGHPUT_GOAL = 0.9;
/** Goal: large / small p50 of list and count at most this. */
export const SCALE_GOAL = 2;
/**
 * Goal: polystore / the raw floor (best raw use: PostgreSQL named statements, Redis
 * writes batched per tick) p50 at most this; its throughput goal is the raw one's.
 */
export const FLOOR_P50_GOAL = 1.25;
/** The backends the raw-driver overhead goals apply to (memory has no raw baseline). */
export const RAW_GOAL_BACKENDS: readonly BackendName[] = [
  'sqlite',
  'postgres',
  'redis',
  'zookeeper',
  'mongo',
];
/** Single-record operations: one round trip is the floor. */
export const SINGLE_RECORD: readonly Operation[] = [
  'get',
  'create',
  'updateRevision',
  'updateExpected',
  'allocate',
];

/** The round-trip floor of an operation on a backend. */
export function roundTripFloor(backend: BackendName, op: Operation): number | undefined {
  if (!SINGLE_RECORD.includes(op)) return undefined;
  // ZooKeeper has no conditional write on a value: an expected-value update reads first.
  // Its allocate reads the network and its taken addresses, then commits one multi.
  return backend === 'zookeeper' && (op === 'updateExpected' || op === 'allocate') ? 2 : 1;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** Per-round ratios `a[i] / b[i]` (rounds of the same run, paired by index; NaN where b is not positive). */
function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  return Array.from({ length: Math.min(a.length, b.length) }, (_, i) =>
    (b[i] as number) > 0 ? (a[i] as number) / (b[i] as number) : Number.NaN,
  );
}

/**
 * polystore's per-round p50 and throughput ratios against another cell, in round order: each
 * round's ratio is taken between figures of that round (NaN where the other's figure is not
 * positive). A cell without rounds counts as one round.
 */
export function roundRatios(poly: Cell, other: Cell): { p50?: number[]; throughput?: number[] } {
  const out: { p50?: number[]; throughput?: number[] } = {};
  if (poly.latency.ok && other.latency.ok) {
    out.p50 = pairedRatios(
      poly.latency.value.p50Rounds ?? [poly.latency.value.p50],
      other.latency.value.p50Rounds ?? [other.latency.value.p50],
    );
  }
  if (poly.throughput.ok && other.throughput.ok) {
    out.throughput = pairedRatios(
      poly.throughput.value.opsRounds ?? [poly.throughput.value.opsPerSecond],
      other.throughput.value.opsRounds ?? [other.throughput.value.opsPerSecond],
    );
  }
  return out;
}

/** The median and range of per-round ratios, leaving out NaN rounds. */
function spreadOf(ratios: readonly number[] | undefined): Spread | undefined {
  const qs = (ratios ?? []).filter((q) => !Number.isNaN(q));
  if (qs.length === 0) return undefined;
  qs.sort((x, y) => x - y);
  const m = qs.length >> 1;
  const med = qs.length % 2 ? (qs[m] as number) : ((qs[m - 1] as number) + (qs[m] as number)) / 2;
  return { median: round(med), min: round(qs[0] as number), max: round(qs.at(-1) as number) };
}

/**
 * polystore's p50 and throughput relative to another cell over the rounds: each round's
 * ratio is taken between figures of that round ({@link roundRatios}), then their median
 * and range.
 */
export function ratioSpreads(poly: Cell, other: Cell): { p50?: Spread; throughput?: Spread } {
  const q = roundRatios(poly, other);
  const out: { p50?: Spread; throughput?: Spread } = {};
  const p50 = spreadOf(q.p50);
  if (p50) out.p50 = p50;
  const throughput = spreadOf(q.throughput);
  if (throughput) out.throughput = throughput;
  return out;
}

/** A ratio goal, met only if the whole spread meets it. */
function spreadCheck(
  backend: BackendName,
  operation: Operation,
  goal: string,
  s: Spread,
  meets: (x: number) => boolean,
): GoalCheck {
  return {
    backend,
    operation,
    goal,
    value: s.median,
    spread: s,
    met: meets(s.min) && meets(s.max),
  };
}

/** polystore's p50 and throughput relative to another cell, where both were measured. */
export function ratios(poly: Cell, other: Cell): { p50?: number; throughput?: number } {
  const out: { p50?: number; throughput?: number } = {};
  if (poly.latency.ok && other.latency.ok && other.latency.value.p50 > 0)
    out.p50 = round(poly.latency.value.p50 / other.latency.value.p50);
  if (poly.throughput.ok && other.throughput.ok && other.throughput.value.opsPerSecond > 0)
    out.throughput = round(
      poly.throughput.value.opsPerSecond / other.throughput.value.opsPerSecond,
    );
  return out;
}

/** The scale ratios of a backend (large p50 / small p50), where measured. */
export function scaleRatios(result: BackendResult): { list?: number; count?: number } {
  if (!result.scale?.ok) return {};
  const points = result.scale.value.points;
  const small = points[0];
  const large = points.at(-1);
  if (small === undefined || large === undefined || points.length < 2) return {};
  const out: { list?: number; count?: number } = {};
  if (small.list.ok && large.list.ok) out.list = round(large.list.value.p50 / small.list.value.p50);
  if (small.count.ok && large.count.ok)
    out.count = round(large.count.value.p50 / small.count.value.p50);
  return out;
}

/** Every goal of every measured backend. */
export function checkGoals(results: readonly BackendResult[]): GoalCheck[] {
  const checks: GoalCheck[] = [];
  for (const r of results) {
    if (r.status !== 'measured') continue;
    for (const [op, cells] of Object.entries(r.operations) as [Operation, Cell[]][]) {
      const poly = cells[0];
      if (poly === undefined) continue;
      const floor = roundTripFloor(r.backend, op);
      if (floor !== undefined && poly.roundTrips?.ok) {
        const value = poly.roundTrips.value.exchanges;
        checks.push({
          backend: r.backend,
          operation: op,
          goal: `round trips <= ${floor}`,
          value,
          met: value <= floor,
        });
      }
      for (const other of cells.slice(1)) {
        // Not equal work: the report says why instead of comparing.
        if (other.unequal !== undefined) continue;
        const q = ratioSpreads(poly, other);
        const name = other.subject;
        const check = (goal: string, x: Spread | undefined, meets: (v: number) => boolean) => {
          if (x !== undefined) checks.push(spreadCheck(r.backend, op, goal, x, meets));
        };
        if (other.role === 'raw' && other.floor) {
          check(
            `p50 / ${name} <= ${FLOOR_P50_GOAL} (the floor)`,
            q.p50,
            (v) => v <= FLOOR_P50_GOAL,
          );
          // A floor that batches (Redis) is a throughput floor as well.
          check(
            `ops/s / ${name} >= ${RAW_THROUGHPUT_GOAL} (the floor)`,
            q.throughput,
            (v) => v >= RAW_THROUGHPUT_GOAL,
          );
        } else if (other.role === 'raw' && RAW_GOAL_BACKENDS.includes(r.backend)) {
          check(`p50 / ${name} <= ${RAW_P50_GOAL}`, q.p50, (v) => v <= RAW_P50_GOAL);
          check(
            `ops/s / ${name} >= ${RAW_THROUGHPUT_GOAL}`,
            q.throughput,
            (v) => v >= RAW_THROUGHPUT_GOAL,
          );
        }
        if (other.role === 'peer') {
          check(`p50 / ${name} < 1 (faster than the peer)`, q.p50, (v) => v < 1);
          check(`ops/s / ${name} > 1 (more than the peer)`, q.throughput, (v) => v > 1);
        }
      }
    }
    const s = scaleRatios(r);
    // A load that stopped short of its target size cannot pass: the ratio is of smaller sizes.
    const sc = r.scale?.ok ? r.scale.value : undefined;
    const reached = sc?.points.at(-1)?.records ?? 0;
    const short = sc !== undefined && reached < sc.target;
    const scaleGoal = `scale p50 ratio <= ${SCALE_GOAL}${short ? ` (target ${sc?.target} records not reached: ${reached}; not met)` : ''}`;
    for (const [op, value] of [
      ['list', s.list],
      ['count', s.count],
    ] as const) {
      if (value !== undefined)
        checks.push({
          backend: r.backend,
          operation: op,
          goal: scaleGoal,
          value,
          met: !short && value <= SCALE_GOAL,
        });
    }
  }
  return checks;
}

/** Every cell that should have a measurement and has none, with the reason. */
export function missingCells(
  results: readonly BackendResult[],
  expected: readonly BackendName[],
): string[] {
  const out: string[] = [];
  for (const name of expected) {
    const r = results.find((x) => x.backend === name);
    if (r === undefined) {
      out.push(`${name}: not run`);
      continue;
    }
    if (r.status === 'missing') {
      out.push(`${name}: every cell: ${r.reason}`);
      continue;
    }
    for (const [op, cells] of Object.entries(r.operations) as [Operation, Cell[]][]) {
      for (const c of cells) {
        if (c.notApplicable !== undefined) continue;
        const what = `${name} ${op} ${c.subject}`;
        if (!c.latency.ok) out.push(`${what} latency: ${c.latency.reason}`);
        if (!c.throughput.ok) out.push(`${what} throughput: ${c.throughput.reason}`);
        if (c.roundTrips !== null && !c.roundTrips.ok)
          out.push(`${what} round trips: ${c.roundTrips.reason}`);
      }
    }
    if (r.scale === undefined || !r.scale.ok) {
      out.push(`${name} scale: ${r.scale?.ok === false ? r.scale.reason : 'not run'}`);
    } else {
      const sc = r.scale.value;
      if (sc.points.length < 2)
        out.push(`${name} scale: ${sc.note ?? 'fewer than two sizes measured'}`);
      for (const p of sc.points) {
        if (!p.list.ok) out.push(`${name} scale list @${p.records}: ${p.list.reason}`);
        if (!p.count.ok) out.push(`${name} scale count @${p.records}: ${p.count.reason}`);
      }
    }
  }
  return out;
}
