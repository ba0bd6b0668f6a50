import { type ResolvedBudget, resolveBudget } from './budget.js';
import { checkShape, STORE_METHODS } from './check-shape.js';
import { runConcurrency } from './concurrency.js';
import { ConformanceFailure } from './conformance-failure.js';
import type { ConformanceOptions } from './conformance-options.js';
import { Coverage } from './coverage.js';
import { EVOLUTION_UNITS, runEvolution } from './evolution.js';
import { FAULT_UNITS, runFaults } from './faults.js';
import { FEATURES } from './features.js';
import type { GroupContext, GroupFn, GroupName, GroupOutcome } from './group.js';
import { runInvariants } from './invariants.js';
import { runIsolation } from './isolation.js';
import { runModelBased } from './model-run.js';
import { type ReplayToken, replayFromEnv } from './replay-token.js';
import type { ConformanceReport, GroupReport } from './report.js';
import { Session } from './session.js';
import { runUpgrade, UPGRADE_UNITS } from './upgrade.js';

const GROUPS: Readonly<Record<GroupName, GroupFn>> = {
  async shape({ session }) {
    const { stores } = await session.openFresh('s');
    try {
      const { problems } = await checkShape(stores);
      if (problems.length > 0) throw new ConformanceFailure('shape', problems.join('\n'));
    } finally {
      await session.close(stores);
    }
    return { status: 'passed', runs: 1, notes: [] };
  },
  async behaviour(g) {
    const { runs } = await runModelBased(g.session, {
      runs: g.budget.runs,
      maxCommands: g.budget.maxCommands,
      seed: g.seed,
      replay: g.replay,
      coverage: g.coverage,
    });
    return { status: 'passed', runs, notes: [] };
  },
  async invariants(g) {
    const { runs } = await runInvariants(g.session, {
      runs: g.budget.runs,
      seed: g.seed + 1,
      replay: g.replay,
      coverage: g.coverage,
    });
    return { status: 'passed', runs, notes: [] };
  },
  async isolation(g) {
    const { runs } = await runIsolation(g.session, { coverage: g.coverage });
    return { status: 'passed', runs, notes: [] };
  },
  concurrency: (g) => runConcurrency(g),
  faults: (g) => runFaults(g),
  evolution: (g) => runEvolution(g),
  upgrade: (g) => runUpgrade(g),
};

/**
 * One conformance run over an adapter: runs groups one by one, records coverage and
 * builds the report. `describeConformance` and `runConformance` both drive it.
 */
export class ConformanceRun {
  readonly session: Session;
  readonly coverage = new Coverage();
  readonly budget: ResolvedBudget;
  readonly seed: number;
  readonly replay: ReplayToken | undefined;
  readonly groups: GroupReport[] = [];
  readonly #start = performance.now();

  constructor(readonly options: ConformanceOptions) {
    this.session = new Session(options);
    this.budget = resolveBudget(options.budget);
    this.replay = replayFromEnv();
    this.seed =
      this.replay?.seed ?? options.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
    for (const [store, methods] of Object.entries(STORE_METHODS)) {
      this.coverage.expect(...Object.keys(methods).map((m) => `${store}.${m}`));
    }
    this.coverage.expect(
      ...Object.keys(FEATURES).map((f) => `feature:${f}`),
      ...FAULT_UNITS,
      ...EVOLUTION_UNITS,
      ...UPGRADE_UNITS,
      'concurrency.scheduler',
      'concurrency.clients',
    );
  }

  /** Runs one group; never throws, the report says how it went. */
  async runGroup(group: GroupName): Promise<GroupReport> {
    const start = performance.now();
    const g: GroupContext = {
      session: this.session,
      coverage: this.coverage,
      budget: this.budget,
      seed: this.seed,
      replay: this.replay?.group === group ? this.replay : undefined,
    };
    let report: GroupReport;
    try {
      if (this.replay && this.replay.group !== group) {
        report = {
          group,
          status: 'passed',
          durationMs: 0,
          runs: 0,
          notes: [`not run: POLYSTORE_REPLAY replays ${this.replay.group}`],
        };
      } else {
        // The bags opened ahead belong to the group: closing them is part of its time.
        const out: GroupOutcome = await GROUPS[group](g).finally(() => this.session.dropSpares());
        report = {
          group,
          status: out.status,
          durationMs: performance.now() - start,
          runs: out.runs,
          notes: out.notes,
        };
      }
    } catch (err) {
      const f = err instanceof ConformanceFailure ? err : undefined;
      report = {
        group,
        status: 'failed',
        durationMs: performance.now() - start,
        runs: f?.details.runs ?? 0,
        message: f
          ? f.group === group
            ? f.message
            : `${f.group}: ${f.message}`
          : `the group threw: ${err instanceof Error ? err.stack : String(err)}`,
        details: f?.details,
        notes: [],
      };
    }
    const t = this.session.takeTiming();
    if (process.env.CONFORMANCE_TIMING === '1') {
      // Where a group's time goes: opening and closing bags is most of it on slow backends.
      console.info(
        `conformance timing ${this.options.name} › ${group}: ${Math.round(report.durationMs)} ms; ${t.opens} opens ${Math.round(t.openMs)} ms, ${t.closes} closes ${Math.round(t.closeMs)} ms`,
      );
    }
    this.groups.push(report);
    return report;
  }

  /** The report so far; declared features the suite does not know count as skipped. */
  report(): ConformanceReport {
    for (const [name] of Object.entries(this.session.manifest?.features ?? {}))
      this.coverage.expect(`feature:${name}`);
    const coverage = this.coverage.summary();
    const replaying = this.replay !== undefined;
    return {
      adapter: this.options.name,
      seed: this.seed,
      passed:
        this.groups.every((g) => g.status !== 'failed') &&
        coverage.unexpected === 0 &&
        (replaying || coverage.skipped === 0),
      groups: [...this.groups],
      coverage,
      manifest: this.session.manifest,
      durationMs: performance.now() - this.#start,
    };
  }
}
