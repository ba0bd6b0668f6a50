import type { BackendName } from './backend-target.js';
import type { Operation } from './operation.js';
import type { BackendResult, Cell } from './run-backend.js';

/** One goal checked against a measurement; goals are reported, never asserted. */
export interface GoalCheck {
  readonly backend: BackendName;
  readonly operation?: Operation;
  /** What the goal is, e.g. `round trips <= 1`. */
  readonly goal: string;
  /** The measured value. */
  readonly value: number;
  readonly met: boolean;
}

/** Goal: polystore / raw p50 at most this on the backends below. */
export const RAW_P50_GOAL = 1.1;
/** Goal: polystore / raw throughput at least this. */
export const RAW_THROUGHPUT_GOAL = 0.9;
/** Goal: large / small p50 of list and count at most this. */
export const SCALE_GOAL = 2;
/** The backends the raw-driver overhead goals apply to. */
export const RAW_GOAL_BACKENDS: readonly BackendName[] = ['postgres', 'redis', 'mongo'];
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
  return backend === 'zookeeper' && op === 'updateExpected' ? 2 : 1;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

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
        const q = ratios(poly, other);
        if (other.role === 'raw' && RAW_GOAL_BACKENDS.includes(r.backend)) {
          if (q.p50 !== undefined)
            checks.push({
              backend: r.backend,
              operation: op,
              goal: `p50 / ${other.subject} <= ${RAW_P50_GOAL}`,
              value: q.p50,
              met: q.p50 <= RAW_P50_GOAL,
            });
          if (q.throughput !== undefined)
            checks.push({
              backend: r.backend,
              operation: op,
              goal: `ops/s / ${other.subject} >= ${RAW_THROUGHPUT_GOAL}`,
              value: q.throughput,
              met: q.throughput >= RAW_THROUGHPUT_GOAL,
            });
        }
        if (other.role === 'peer') {
          if (q.p50 !== undefined)
            checks.push({
              backend: r.backend,
              operation: op,
              goal: `p50 / ${other.subject} < 1 (faster than the peer)`,
              value: q.p50,
              met: q.p50 < 1,
            });
          if (q.throughput !== undefined)
            checks.push({
              backend: r.backend,
              operation: op,
              goal: `ops/s / ${other.subject} > 1 (more than the peer)`,
              value: q.throughput,
              met: q.throughput > 1,
            });
        }
      }
    }
    const s = scaleRatios(r);
    if (s.list !== undefined)
      checks.push({
        backend: r.backend,
        operation: 'list',
        goal: `scale p50 ratio <= ${SCALE_GOAL}`,
        value: s.list,
        met: s.list <= SCALE_GOAL,
      });
    if (s.count !== undefined)
      checks.push({
        backend: r.backend,
        operation: 'count',
        goal: `scale p50 ratio <= ${SCALE_GOAL}`,
        value: s.count,
        met: s.count <= SCALE_GOAL,
      });
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
