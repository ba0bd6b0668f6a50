import type { BackendName } from './backend-target.js';
import type { BenchConfig } from './bench-config.js';
import {
  FLOOR_P50_GOAL,
  type GoalCheck,
  RAW_GOAL_BACKENDS,
  RAW_P50_GOAL,
  RAW_THROUGHPUT_GOAL,
  ratioSpreads,
  roundTripFloor,
  SCALE_GOAL,
  type Spread,
  scaleRatios,
} from './goals.js';
import {
  latencySlices,
  type Outcome,
  type RoundTrips,
  throughputSlices,
  WARMUP_ROUND_MIN_MS,
} from './measure.js';
import { OPERATION_LABELS, type Operation } from './operation.js';
import type { BackendResult, Cell } from './run-backend.js';

/** Everything one run produced: what the JSON report holds. */
export interface BenchReport {
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
  readonly config: BenchConfig;
  readonly results: readonly BackendResult[];
  readonly goals: readonly GoalCheck[];
  readonly missing: readonly string[];
}

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(3));
const num = (x: number) => Math.round(x).toLocaleString('en-US');
/** A ratio with ✗ when it misses its goal (`max`: at most, `min`: at least). */
const judged = (x: number | undefined, goal: { max?: number; min?: number; strict?: boolean }) => {
  if (x === undefined) return '–';
  const miss =
    (goal.max !== undefined && (goal.strict ? x >= goal.max : x > goal.max)) ||
    (goal.min !== undefined && (goal.strict ? x <= goal.min : x < goal.min));
  return `${x.toFixed(2)}${miss ? ' ✗' : ''}`;
};
/** A ratio's median and range over the rounds, ✗ when any round misses the goal. */
const judgedSpread = (
  x: Spread | undefined,
  goal: { max?: number; min?: number; strict?: boolean } = {},
) => {
  if (x === undefined) return '–';
  const miss =
    (goal.max !== undefined && (goal.strict ? x.max >= goal.max : x.max > goal.max)) ||
    (goal.min !== undefined && (goal.strict ? x.min <= goal.min : x.min < goal.min));
  return `${x.median.toFixed(2)} [${x.min.toFixed(2)}–${x.max.toFixed(2)}]${miss ? ' ✗' : ''}`;
};
const us = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(0));
const show = <T>(o: Outcome<T> | null | undefined, f: (v: T) => string, embedded = 'n.a.') =>
  o === null ? embedded : o === undefined ? '–' : o.ok ? f(o.value) : 'missing';
const mb = (bytes: number) => `${Math.round(bytes / 1048576)} MB`;

/** Exchanges, and the sequential ones when parallel requests made them fewer. */
const trips = (r: RoundTrips) =>
  r.sequential < r.exchanges ? `${r.exchanges} (${r.sequential} seq.)` : String(r.exchanges);

function rtCell(backend: BackendName, op: Operation, cell: Cell, raw: Cell | undefined): string {
  if (cell.roundTrips === null) return 'n.a. (embedded)';
  const mine = show(cell.roundTrips, trips);
  const theirs = raw?.roundTrips?.ok ? ` (raw ${trips(raw.roundTrips.value)})` : '';
  const floor = roundTripFloor(backend, op);
  const miss =
    floor !== undefined && cell.roundTrips.ok && cell.roundTrips.value.exchanges > floor
      ? ' ✗'
      : '';
  return `${mine}${theirs}${miss}`;
}

/** The Markdown report. */
export function renderMarkdown(report: BenchReport): string {
  const { machine, config } = report;
  const lines: string[] = [];
  const out = (s = '') => lines.push(s);
  out(`# polystore benchmark: ${machine.hostname} (${config.mode})`);
  out();
  out(
    `${report.startedAt}, ${report.seconds} s. ${machine.cores} × ${machine.cpus}, ${machine.memoryGb} GB, Node ${machine.node} (${machine.platform}), load average ${machine.load[0]} at the start, ${machine.load[1]} at the end. ` +
      `${config.measure.rounds} rounds after one warm-up round that is not recorded (its blocks at least ${WARMUP_ROUND_MIN_MS} ms); in each round every subject (polystore, raw drivers, peers) runs one latency block (calls one at a time, ${config.measure.timeMs} ms after ${config.measure.warmupMs} ms warmup, cut into ${latencySlices(config.measure.timeMs)} slices that alternate between the subjects) and then one throughput block (${config.measure.concurrency} calls in flight, as long, in ${throughputSlices(config.measure.timeMs)} alternating slices), the subjects in a new random order in every slice, on the same server, in the same process; each backend runs in a process of its own. ` +
      'Figures are medians over the rounds (p99 over all samples pooled); a ratio is taken within each round, reported as median [lowest–highest round], and a goal counts as met only if every round meets it. ' +
      `Client CPU is \`process.cpuUsage\` (user + system) per call at concurrency 1; server time per call is PostgreSQL's \`pg_stat_statements\` (planning + execution) or Redis's \`INFO commandstats\` (usec of every command), where the server can say. Round trips counted over ${config.roundTripCalls} calls by a loopback TCP proxy. ` +
      'Servers are the @polystore/testing throwaway servers on this machine (durability off; Redis without automatic AOF rewrites; ZooKeeper with a 2 GB heap), started and stopped by the run. ' +
      'The servers share the CPU with the client: figures are for comparison within one run, not absolute.',
  );
  out();
  out('## Headline (polystore)');
  out();
  out(
    '| backend | operation | round trips (raw) | p50 ms | p99 ms | ops/s @' +
      `${config.measure.concurrency} | client CPU µs/call | server µs/call | p50 / raw (goal ≤ ${RAW_P50_GOAL}) | ops/s / raw (goal ≥ ${RAW_THROUGHPUT_GOAL}) | p50 / floor (goal ≤ ${FLOOR_P50_GOAL}) |`,
  );
  out('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of report.results) {
    if (r.status === 'missing') {
      out(
        `| ${r.backend} | every operation | missing: ${r.reason?.replace(/\|/g, '/')} | | | | | | | | |`,
      );
      continue;
    }
    for (const [op, cells] of Object.entries(r.operations) as [Operation, Cell[]][]) {
      const poly = cells[0];
      if (poly === undefined) continue;
      const raw = cells.find((c) => c.role === 'raw' && !c.floor);
      const floor = cells.find((c) => c.floor);
      const q = raw ? ratioSpreads(poly, raw) : {};
      const f = floor ? ratioSpreads(poly, floor) : {};
      const goal = RAW_GOAL_BACKENDS.includes(r.backend);
      out(
        `| ${r.backend} | ${OPERATION_LABELS[op]} | ${rtCell(r.backend, op, poly, raw)} | ${show(poly.latency, (v) => ms(v.p50))} | ${show(
          poly.latency,
          (v) => ms(v.p99),
        )} | ${show(poly.throughput, (v) => num(v.opsPerSecond))} | ${show(poly.latency, (v) => us(v.cpuUsPerCall))} | ${show(
          poly.latency,
          (v) => us(v.serverUsPerCall),
        )} | ${judgedSpread(q.p50, goal ? { max: RAW_P50_GOAL } : {})} | ${judgedSpread(
          q.throughput,
          goal ? { min: RAW_THROUGHPUT_GOAL } : {},
        )} | ${judgedSpread(f.p50, { max: FLOOR_P50_GOAL })} |`,
      );
    }
  }
  out();
  out(
    'Round trips: request/response exchanges per call seen by the proxy, summed over connections, minus what an idle period as long shows (heartbeats); "seq." counts parallel requests on several connections once (✗: above the floor of 1 per single-record operation, 2 for a ZooKeeper expected-value update). ' +
      'Ratios: polystore / raw driver doing the same operation with the same atomicity (one SQL statement, one Lua script, one findOneAndUpdate, one multi), in the same run; p50 lower is better, ops/s higher is better; median [lowest–highest round]. The floor is the best use of the raw driver: PostgreSQL with named statements; Redis with the plain commands of one tick sent in one write, as polystore sends them.',
  );
  out();
  out('## Goals not met');
  out();
  const missed = report.goals.filter((g) => !g.met);
  if (missed.length === 0) out('None: every goal checked was met.');
  const measuredText = (g: GoalCheck) =>
    g.spread ? `median ${g.value} [${g.spread.min}–${g.spread.max}]` : `measured ${g.value}`;
  for (const g of missed)
    out(`- ${g.backend}${g.operation ? ` ${g.operation}` : ''}: ${g.goal}: ${measuredText(g)}`);
  out();
  out(`${report.goals.length - missed.length} of ${report.goals.length} goals checked were met.`);
  out();
  out('## Goals met (every round)');
  out();
  for (const g of report.goals.filter((x) => x.met))
    out(`- ${g.backend}${g.operation ? ` ${g.operation}` : ''}: ${g.goal}: ${measuredText(g)}`);
  out();
  out('## Raw drivers and peers');
  out();
  out(
    '| backend | operation | subject | round trips | p50 ms | p99 ms | ops/s | client CPU µs/call | server µs/call | polystore / it: p50 | ops/s |',
  );
  out('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of report.results) {
    if (r.status === 'missing') continue;
    for (const [op, cells] of Object.entries(r.operations) as [Operation, Cell[]][]) {
      const poly = cells[0];
      if (poly === undefined) continue;
      for (const c of cells.slice(1)) {
        const q = ratioSpreads(poly, c);
        if (c.notApplicable !== undefined) {
          out(
            `| ${r.backend} | ${OPERATION_LABELS[op]} | ${c.subject} | n.a.: ${c.notApplicable.replace(/\|/g, '/')} | | | | | | | |`,
          );
          continue;
        }
        const peer = c.role === 'peer';
        const compared =
          c.unequal !== undefined
            ? `not compared: ${c.unequal} | –`
            : `${judgedSpread(q.p50, peer ? { max: 1, strict: true } : {})} | ${judgedSpread(
                q.throughput,
                peer ? { min: 1, strict: true } : {},
              )}`;
        out(
          `| ${r.backend} | ${OPERATION_LABELS[op]} | ${c.subject}${c.note ? ` (${c.note})` : ''} | ${show(c.roundTrips, trips)} | ${show(
            c.latency,
            (v) => ms(v.p50),
          )} | ${show(c.latency, (v) => ms(v.p99))} | ${show(c.throughput, (v) => num(v.opsPerSecond))} | ${show(
            c.latency,
            (v) => us(v.cpuUsPerCall),
          )} | ${show(c.latency, (v) => us(v.serverUsPerCall))} | ${compared} |`,
        );
      }
    }
  }
  out();
  out('## Baseline statements');
  out();
  out(
    'What each raw baseline and peer sends per call (the same table, indexes and conditions as polystore).',
  );
  out();
  for (const r of report.results) {
    if (r.status === 'missing') continue;
    for (const [op, cells] of Object.entries(r.operations) as [Operation, Cell[]][]) {
      for (const c of cells.slice(1)) {
        if (c.statement !== undefined)
          out(`- ${r.backend} ${op} ${c.subject}: \`${c.statement.replace(/\s+/g, ' ')}\``);
      }
    }
  }
  out();
  out('## Scale: list (page of 50, indexed filter) and count');
  out();
  out(
    `The same ${config.scaleHot} records match the filter at every size, so the ratio shows whether the filter is served by an index. ` +
      `Asked: ${config.scaleSmall.toLocaleString('en-US')} and ${config.scaleLarge.postgres.toLocaleString('en-US')} records (ZooKeeper ${config.scaleLarge.zookeeper.toLocaleString('en-US')}); a load that ran out of its ${config.scaleLoadBudgetMs / 1000} s budget is measured at the size reached, as stated.`,
  );
  out();
  out(
    '| backend | loaded by | records | list p50 ms | count p50 ms | list ratio | count ratio | note |',
  );
  out('|---|---|---|---:|---:|---:|---:|---|');
  for (const r of report.results) {
    if (r.status === 'missing') continue;
    if (!r.scale?.ok) {
      out(
        `| ${r.backend} | – | – | – | – | – | – | missing: ${r.scale?.ok === false ? r.scale.reason : 'not run'} |`,
      );
      continue;
    }
    const s = r.scale.value;
    const q = scaleRatios(r);
    out(
      `| ${r.backend} | ${s.method} | ${s.points.map((p) => p.records.toLocaleString('en-US')).join(' → ')} | ${s.points
        .map((p) => show(p.list, (v) => ms(v.p50)))
        .join(
          ' → ',
        )} | ${s.points.map((p) => show(p.count, (v) => ms(v.p50))).join(' → ')} | ${judged(q.list, { max: SCALE_GOAL })} | ${judged(q.count, { max: SCALE_GOAL })} | ${
        s.note ?? ''
      } load ${s.loadSeconds} s |`,
    );
  }
  out();
  out('## Client memory (peak during each backend run)');
  out();
  out('| backend | peak RSS | peak heap used | run time |');
  out('|---|---:|---:|---:|');
  for (const r of report.results) {
    out(
      `| ${r.backend} | ${r.memory ? mb(r.memory.rss) : '–'} | ${r.memory ? mb(r.memory.heapUsed) : '–'} | ${r.seconds} s |`,
    );
  }
  out();
  out(
    'RSS is the whole benchmark process (all clients of that run); the servers are other processes.',
  );
  out();
  out('## Missing cells');
  out();
  if (report.missing.length === 0) out('None: every cell was measured.');
  for (const m of report.missing) out(`- ${m}`);
  out();
  return lines.join('\n');
}
