import type { MigrateBackend, MigrateBenchConfig } from './migrate-bench.js';
import type { LoadResult, OpLatency } from './migrate-load.js';
import { median } from './rounds.js';

/** One measured migrate of one fresh namespace. */
export interface MigrateRound {
  /** Widgets loaded (at release L) before the migrate. */
  readonly records: number;
  /** Widgets the migrate converted (fewer than `records` under load: the load's updates after the pin moved write M). */
  readonly converted: number;
  /** Wall time of `migrate()`: pin move and acknowledgement, every page, the final count. */
  readonly seconds: number;
  /** `converted / seconds`: the headline figure. */
  readonly recordsPerSecond: number;
  /** The engine's own rate (its last progress report: conversion only, from its first page). */
  readonly engineRatePerSecond: number;
  /** Seconds the load of the namespace took (not measured, for the record). */
  readonly loadSeconds: number;
  /** The concurrent load's latencies before and during the migrate, if it ran with load. */
  readonly load?: LoadResult;
}

/** One size of one backend. */
export interface SizeResult {
  /** The size asked for. */
  readonly target: number;
  /** The size every round reached (`null`: none ran). */
  readonly reached: number | null;
  readonly loadMethod?: string;
  /** Why a size was not reached or failed. */
  readonly note?: string;
  readonly idle: readonly MigrateRound[];
  readonly loaded: readonly MigrateRound[];
}

/** Everything measured on one backend. */
export interface MigrateBackendResult {
  readonly backend: MigrateBackend;
  /** The server, in words (`null`: it did not start). */
  readonly server: string | null;
  readonly reason?: string;
  readonly sizes: readonly SizeResult[];
}

/** A goal of issue 16 item 6, judged. */
export interface MigrateGoal {
  readonly goal: string;
  /** `null`: not measured (the size was not reached). */
  readonly met: boolean | null;
  readonly value: string;
}

/** What the JSON report holds. */
export interface MigrateBenchReport {
  readonly machine: {
    readonly hostname: string;
    readonly cpus: string;
    readonly cores: number;
    readonly memoryGb: number;
    readonly node: string;
    readonly platform: string;
    /** 1-minute load average at the start and the end of the run (other work on the machine). */
    readonly load: readonly [number, number];
  };
  readonly startedAt: string;
  readonly seconds: number;
  readonly config: MigrateBenchConfig;
  readonly results: readonly MigrateBackendResult[];
  readonly goals: readonly MigrateGoal[];
}

/** pgroll's backfill in its CI at 300k rows, rows/s (the anchor of the goal). */
export const PGROLL_ROWS_PER_SECOND = { low: 9_400, high: 11_000 } as const;
/** The PostgreSQL goal at 300k: at least twice pgroll. */
export const POSTGRES_GOAL_RECORDS_PER_SECOND = 20_000;
/** 1M within this fraction of 300k. */
export const FLATNESS_GOAL = 0.3;

/** The median of the records/s of some rounds (`undefined` for none). */
export function medianRate(rounds: readonly MigrateRound[]): number | undefined {
  return rounds.length === 0 ? undefined : median(rounds.map((r) => r.recordsPerSecond));
}

function sizeOf(result: MigrateBackendResult | undefined, target: number): SizeResult | undefined {
  return result?.sizes.find(
    (s) => s.target === target && s.reached === target && s.idle.length > 0,
  );
}

const num = (x: number | undefined) =>
  x === undefined ? '–' : Math.round(x).toLocaleString('en-US');

/**
 * The goals: PostgreSQL at 300k records ≥ 20k records/s (2× pgroll) in every round, and
 * 1M within ±30% of 300k (median to median) on PostgreSQL; the flatness of the other
 * backends that reached 1M is listed too.
 */
export function migrateGoals(results: readonly MigrateBackendResult[]): MigrateGoal[] {
  const goals: MigrateGoal[] = [];
  const pg = results.find((r) => r.backend === 'postgres');
  const at300 = sizeOf(pg, 300_000);
  if (pg) {
    const rates = at300?.idle.map((r) => r.recordsPerSecond) ?? [];
    goals.push({
      goal: `PostgreSQL, 300k records, idle: ≥ ${num(POSTGRES_GOAL_RECORDS_PER_SECOND)} records/s in every round (2× pgroll's ${num(PGROLL_ROWS_PER_SECOND.low)}–${num(PGROLL_ROWS_PER_SECOND.high)} rows/s)`,
      met: rates.length === 0 ? null : Math.min(...rates) >= POSTGRES_GOAL_RECORDS_PER_SECOND,
      value:
        rates.length === 0
          ? 'not measured (300k not reached)'
          : `median ${num(median(rates))}, rounds ${rates.map(num).join(', ')}`,
    });
  }
  for (const r of results) {
    const a = sizeOf(r, 300_000);
    const b = sizeOf(r, 1_000_000);
    if (r.backend !== 'postgres' && !(a && b)) continue;
    const ra = a && medianRate(a.idle);
    const rb = b && medianRate(b.idle);
    const ratio = ra && rb ? rb / ra : undefined;
    goals.push({
      goal: `${r.backend}: 1M records within ±${FLATNESS_GOAL * 100}% of 300k (idle medians)${r.backend === 'postgres' ? '' : ' (reported, the goal is on PostgreSQL)'}`,
      met: ratio === undefined ? null : Math.abs(ratio - 1) <= FLATNESS_GOAL,
      value:
        ratio === undefined
          ? `not measured (${!a ? '300k' : '1M'} not reached)`
          : `${num(rb)} / ${num(ra)} = ${ratio.toFixed(2)}`,
    });
  }
  return goals;
}

/** `median [lowest–highest] (±spread%)` of round figures. */
function spread(xs: readonly number[]): string {
  if (xs.length === 0) return '–';
  const m = median(xs);
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const pct = m > 0 ? Math.round((Math.max(hi - m, m - lo) / m) * 100) : 0;
  return `${num(m)} [${num(lo)}–${num(hi)}] ±${pct}%`;
}

/** The median over rounds of one latency figure, ms. */
function latency(
  rounds: readonly MigrateRound[],
  phase: 'before' | 'during',
  op: 'get' | 'update',
  figure: keyof Pick<OpLatency, 'p50Ms' | 'p99Ms'>,
): string {
  const xs = rounds.flatMap((r) => {
    const l = r.load?.[phase][op];
    return l ? [l[figure]] : [];
  });
  if (xs.length === 0) return '–';
  const m = median(xs);
  return m >= 10 ? m.toFixed(1) : m.toFixed(2);
}

function errorsDuring(rounds: readonly MigrateRound[]): string {
  const total: Record<string, number> = {};
  for (const r of rounds)
    for (const [k, v] of Object.entries(r.load?.during.errors ?? {}))
      total[k] = (total[k] ?? 0) + v;
  const calls = rounds.reduce(
    (n, r) => n + (r.load?.during.get?.calls ?? 0) + (r.load?.during.update?.calls ?? 0),
    0,
  );
  const parts = Object.entries(total).map(([k, v]) => `${k} ${v}`);
  return `${parts.length ? parts.join(', ') : 'none'} (of ${num(calls)} calls)`;
}

/** The report as markdown. */
export function renderMigrateMarkdown(report: MigrateBenchReport): string {
  const { machine: m, config: c } = report;
  const lines: string[] = [];
  lines.push(`# polystore migrate throughput: ${m.hostname} (${c.mode})`, '');
  lines.push(
    `${report.startedAt}, ${report.seconds} s. ${m.cores} × ${m.cpus}, ${m.memoryGb} GB, Node ${m.node} (${m.platform}), load average ${m.load[0]} at the start, ${m.load[1]} at the end (the machine is shared with other engineers' test runs). The servers run on the same ${m.cores} cores as the client.`,
    '',
    `Each run: a fresh namespace, N widgets of release L (1.0) loaded (not measured), \`expand\` to release M (1.1: \`color\` filled by a transform from \`size\` and indexed, \`size\` gets a sort index, \`serial\` becomes unique, \`title\` filled from \`name\`), then the timed \`openUpgrade(url).migrate({ batch: ${c.batch} })\`. records/s = records converted / wall time of \`migrate()\` (pin move, its acknowledgement by the fleet, every page with its checkpoint, the final count); "engine" is the engine's own progress rate (conversion only). ${c.rounds} rounds per size; idle and loaded runs in a new random order each round. Figures: median [lowest–highest] ±largest deviation from the median. With load: ${c.clients} clients in a separate process, a release-M fleet member (heartbeat ${c.heartbeatMs} ms), each doing a \`get\` then an \`update\` (size) of a random widget, one call at a time; "before" is ${c.beforeMs / 1000} s before the migrate starts, "during" the migrate itself; latencies are medians over the rounds of each round's p50/p99.`,
    '',
  );
  lines.push('## Goals', '');
  lines.push('| goal | verdict | value |', '|---|---|---|');
  for (const g of report.goals) {
    lines.push(
      `| ${g.goal} | ${g.met === null ? 'not measured' : g.met ? 'met' : 'NOT met'} | ${g.value} |`,
    );
  }
  lines.push('');
  lines.push('## Throughput', '');
  lines.push(
    '| backend | records | idle records/s | idle engine rate | idle seconds | with load records/s | get p50 / p99 ms before → during | update p50 / p99 ms before → during | load errors during |',
    '|---|---:|---:|---:|---:|---:|---|---|---|',
  );
  const notReached: string[] = [];
  for (const r of report.results) {
    if (r.server === null) {
      notReached.push(`${r.backend}: ${r.reason}`);
      continue;
    }
    for (const s of r.sizes) {
      if (s.note) notReached.push(`${r.backend} ${num(s.target)}: ${s.note}`);
      if (s.idle.length === 0 && s.loaded.length === 0) continue;
      const size =
        s.reached === s.target ? num(s.target) : `${num(s.reached ?? 0)} (of ${num(s.target)})`;
      const l = s.loaded;
      lines.push(
        `| ${r.backend} | ${size} | ${spread(s.idle.map((x) => x.recordsPerSecond))} | ${s.idle.length ? num(median(s.idle.map((x) => x.engineRatePerSecond))) : '–'} | ${s.idle.length ? median(s.idle.map((x) => x.seconds)).toFixed(2) : '–'} | ${spread(l.map((x) => x.recordsPerSecond))} | ${l.length ? `${latency(l, 'before', 'get', 'p50Ms')} / ${latency(l, 'before', 'get', 'p99Ms')} → ${latency(l, 'during', 'get', 'p50Ms')} / ${latency(l, 'during', 'get', 'p99Ms')}` : '–'} | ${l.length ? `${latency(l, 'before', 'update', 'p50Ms')} / ${latency(l, 'before', 'update', 'p99Ms')} → ${latency(l, 'during', 'update', 'p50Ms')} / ${latency(l, 'during', 'update', 'p99Ms')}` : '–'} | ${l.length ? errorsDuring(l) : '–'} |`,
      );
    }
  }
  lines.push('');
  lines.push('## Sizes not reached', '');
  lines.push(
    ...(notReached.length
      ? notReached.map((x) => `- ${x}`)
      : ['None: every size asked for was measured.']),
  );
  lines.push('');
  lines.push('## Servers and loading', '');
  for (const r of report.results) {
    const method = r.sizes.find((s) => s.loadMethod)?.loadMethod ?? '–';
    const loads = r.sizes.flatMap((s) =>
      [...s.idle, ...s.loaded].map((x) => `${num(x.records)} in ${x.loadSeconds} s`),
    );
    lines.push(
      `- ${r.backend}: ${r.server ?? 'did not start'}; loading: ${method}${loads.length ? ` (${[...new Set(loads)].slice(0, 6).join(', ')}${loads.length > 6 ? ', …' : ''})` : ''}`,
    );
  }
  lines.push('');
  return `${lines.join('\n')}\n`;
}
