/**
 * The `migrate` throughput benchmark (issue 16 item 6): records converted per second by the
 * live-upgrade engine's `migrate` (widget release L → M: a field filled by a transform, a new
 * index, a new unique constraint, the first half of a rename), at several sizes on every
 * backend, idle and under a concurrent get/update load whose p50/p99 is compared before and
 * during the migrate. Anchor: pgroll's backfill in its CI, about 9.4–11k rows/s at 300k rows;
 * the goal is ≥ 2× that on PostgreSQL and flat (±30%) from 300k to 1M.
 *
 * ```sh
 * npm run migrate -w @polystore/bench                 # full: 10k, 300k, 1M (ZooKeeper, Mongo: 10k, 100k)
 * npm run migrate -w @polystore/bench -- --quick      # 10k only, a few minutes
 * npm run migrate -w @polystore/bench -- --backends postgres --sizes 300000,1000000
 * ```
 *
 * Each measured run is on a fresh namespace: N release-L widgets loaded by the fastest path
 * that still produces the adapter's own records (SQL: `INSERT … SELECT` copying a row the
 * adapter wrote; others: the adapter's insert, many in flight), `expand` to M, then the
 * timed `openUpgrade(…).migrate({ batch })`. Not measured: the load and the expand.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Backend, openBackend } from '@polystore/core/adapter';
import { openUpgrade } from '@polystore/migrate';
import {
  freshNamespace,
  startFerretDb,
  startPostgres,
  startRedis,
  startZooKeeper,
} from '@polystore/testing';
import { widgetL, widgetM } from '@polystore/testing/upgrade-fixtures';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { withDeadline } from './deadline.js';
import type { LoadCommand, LoadReply, LoadResult } from './migrate-load.js';
import {
  driverWidgetLoader,
  postgresWidgetLoader,
  sqliteWidgetLoader,
  type WidgetLoader,
} from './migrate-loader.js';
import {
  type MigrateBackendResult,
  type MigrateBenchReport,
  type MigrateRound,
  migrateGoals,
  renderMigrateMarkdown,
  type SizeResult,
} from './migrate-report.js';
import { shuffled } from './rounds.js';

const num = (x: number) => x.toLocaleString('en-US');

/** The backends of this benchmark (memory has no server and nothing to compare). */
export const MIGRATE_BACKENDS = ['postgres', 'sqlite', 'redis', 'zookeeper', 'mongo'] as const;
/** One of {@link MIGRATE_BACKENDS}. */
export type MigrateBackend = (typeof MIGRATE_BACKENDS)[number];

/** What a run measures. */
export interface MigrateBenchConfig {
  readonly mode: 'quick' | 'full' | 'custom';
  /** Sizes per backend, smallest first. */
  readonly sizes: Readonly<Record<MigrateBackend, readonly number[]>>;
  /** Sizes at which the with-load rounds run too (each backend: those of its sizes listed). */
  readonly loadSizes: readonly number[];
  /** Measured rounds per size and mode. */
  readonly rounds: number;
  /** `migrate({ batch })`. */
  readonly batch: number;
  /** Concurrent clients of the load (each a get then an update, one call at a time). */
  readonly clients: number;
  /** How long the load runs before the migrate starts, ms (its `before` figures). */
  readonly beforeMs: number;
  /** The heartbeat of the load's fleet member, ms (the pin waits for its acknowledgement). */
  readonly heartbeatMs: number;
  /** Loading one namespace stops after this long; the size reached is reported. */
  readonly loadBudgetMs: number;
  /**
   * The run's time budget, ms: a size is not started when the run has taken this long, or
   * when the rounds of the size before, scaled linearly, project past it.
   */
  readonly runBudgetMs: number;
  /** One size of one backend may take at most this long (projected, then as a deadline). */
  readonly sizeBudgetMs: number;
}

const BIG = [10_000, 300_000, 1_000_000] as const;
const SMALL = [10_000, 100_000] as const;

/** The full run: 10k, 300k and 1M (ZooKeeper and Mongo: 10k and 100k), load at 300k and 10k. */
export const MIGRATE_FULL: MigrateBenchConfig = {
  mode: 'full',
  sizes: { postgres: BIG, sqlite: BIG, redis: BIG, zookeeper: SMALL, mongo: SMALL },
  loadSizes: [10_000, 300_000],
  rounds: 3,
  batch: 1000,
  clients: 3,
  beforeMs: 3000,
  heartbeatMs: 250,
  loadBudgetMs: 240_000,
  runBudgetMs: 75 * 60_000,
  sizeBudgetMs: 20 * 60_000,
};

/** The quick run: 10k everywhere, a few minutes. */
export const MIGRATE_QUICK: MigrateBenchConfig = {
  ...MIGRATE_FULL,
  mode: 'quick',
  sizes: {
    postgres: [10_000],
    sqlite: [10_000],
    redis: [10_000],
    zookeeper: [10_000],
    mongo: [10_000],
  },
  loadSizes: [10_000],
  beforeMs: 2000,
  loadBudgetMs: 60_000,
  runBudgetMs: 10 * 60_000,
  sizeBudgetMs: 4 * 60_000,
};

/** One namespace of a run. */
interface Namespace {
  readonly url: string;
  readonly operatorUrl: string;
  drop(): Promise<void>;
}

/** A server of the run and how to make and drop a namespace on it. */
interface MigrateServer {
  readonly description: string;
  /**
   * A fresh, empty namespace: the store URL the fleet's services use (the adapter's
   * defaults), the one the operator's tools use (the loader, the engine: timeouts long
   * enough for one expand script over every record, or a count by a full scan), and how to
   * drop it.
   */
  fresh(): Promise<Namespace>;
  stop(): Promise<void>;
}

async function startServer(name: MigrateBackend, work: string): Promise<MigrateServer> {
  switch (name) {
    case 'postgres': {
      const server = await startPostgres({ fast: true });
      return {
        description: 'PostgreSQL (harness, fast: fsync off)',
        async fresh() {
          const db = freshNamespace('mig');
          const url = await server.createDatabase(db);
          return {
            url,
            operatorUrl: `${url}?failFastMs=600000&statementTimeoutMs=600000`,
            async drop() {
              const c = new pg.Client({ connectionString: server.url });
              await c.connect();
              await c.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`).finally(() => c.end());
            },
          };
        },
        stop: () => server.stop(),
      };
    }
    case 'sqlite':
      return {
        description: 'SQLite (better-sqlite3, a file in the temp dir)',
        async fresh() {
          const path = join(work, `${freshNamespace('mig')}.db`);
          return {
            url: `sqlite:${path}`,
            operatorUrl: `sqlite:${path}`,
            async drop() {
              for (const suffix of ['', '-wal', '-shm', '-journal'])
                rmSync(`${path}${suffix}`, { force: true });
            },
          };
        },
        stop: async () => {},
      };
    case 'redis': {
      const server = await startRedis({ appendfsync: 'no' });
      const base = `redis://${server.host}:${server.port}`;
      return {
        description: 'Redis (harness, appendfsync no)',
        async fresh() {
          const url = `${base}?namespace=${freshNamespace('mig')}`;
          return {
            url,
            operatorUrl: url,
            async drop() {
              // The run's own throwaway server: its namespaces are all this run's.
              const r = new Redis(base);
              await r.flushall().finally(() => r.quit());
            },
          };
        },
        stop: () => server.stop(),
      };
    }
    case 'zookeeper': {
      const server = await startZooKeeper({
        fast: true,
        jvmOptions: ['-Xmx2g', '-XX:TieredStopAtLevel=4'],
      });
      return {
        description: 'ZooKeeper standalone (harness, forceSync no, -Xmx2g, full JIT)',
        async fresh() {
          // Namespaces are left in place (a recursive delete of 10⁵ znodes costs as much as the load).
          const url = `zookeeper://${server.host}:${server.port}/${freshNamespace('mig')}`;
          return {
            url,
            operatorUrl: `${url}?requestTimeoutMs=60000&failFastMs=600000&sessionTimeoutMs=30000`,
            drop: async () => {},
          };
        },
        stop: () => server.stop(),
      };
    }
    case 'mongo': {
      const server = await startFerretDb();
      const base = `mongodb://${server.host}:${server.port}`;
      return {
        description: 'FerretDB 1.24 on SQLite (harness)',
        async fresh() {
          const db = freshNamespace('mig');
          const url = `${base}/${db}?directConnection=true&heartbeatFrequencyMS=60000`;
          return {
            url,
            operatorUrl: `${url}&failFastMs=600000`,
            async drop() {
              const c = new MongoClient(`${base}/?directConnection=true`);
              await c
                .db(db)
                .dropDatabase()
                .finally(() => c.close());
            },
          };
        },
        stop: () => server.stop(),
      };
    }
  }
}

function loaderFor(name: MigrateBackend, backend: Backend, url: string): WidgetLoader {
  if (name === 'postgres') return postgresWidgetLoader(backend, url);
  if (name === 'sqlite') return sqliteWidgetLoader(backend, url.slice('sqlite:'.length));
  // A ZooKeeper multi and a FerretDB write are heavier for the server: fewer in flight.
  return driverWidgetLoader(backend, name === 'redis' ? 128 : 8);
}

/** Starts the load process and waits until it has joined the fleet and warmed up. */
async function startLoad(
  url: string,
  n: number,
  config: MigrateBenchConfig,
): Promise<ChildProcess> {
  const child = fork(
    join(dirname(fileURLToPath(import.meta.url)), 'migrate-load.ts'),
    [url, String(config.clients), String(n), String(config.heartbeatMs)],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const ready = new Promise<void>((ok, fail) => {
    child.once('message', (m: LoadReply) =>
      m.type === 'ready' ? ok() : fail(new Error('load: unexpected reply')),
    );
    child.once('exit', (code) =>
      fail(new Error(`the load process exited with ${code} before it was ready`)),
    );
  });
  await withDeadline(ready, 60_000, 'load process start');
  return child;
}

function command(child: ChildProcess, m: LoadCommand): void {
  child.send(m);
}

async function stopLoad(child: ChildProcess): Promise<LoadResult> {
  const result = new Promise<LoadResult>((ok, fail) => {
    child.on('message', (m: LoadReply) => {
      if (m.type === 'result') ok(m.result);
    });
    child.once('exit', (code) =>
      fail(new Error(`the load process exited with ${code} before its result`)),
    );
  });
  command(child, { type: 'stop' });
  const out = await withDeadline(result, 60_000, 'load process result');
  await once(child, 'exit').catch(() => {});
  return out;
}

/** One measured run: load `size` widgets in a fresh namespace, expand, time the migrate. */
async function measureOnce(
  name: MigrateBackend,
  server: MigrateServer,
  size: number,
  withLoad: boolean,
  config: MigrateBenchConfig,
  log: (line: string) => void,
): Promise<MigrateRound & { loadMethod: string }> {
  const ns = await server.fresh();
  const opened = await openBackend(ns.operatorUrl, { resources: [widgetL] });
  const backend = opened.backend!;
  const loader = loaderFor(name, backend, ns.url);
  let child: ChildProcess | undefined;
  try {
    const t0 = performance.now();
    let loaded = 0;
    const step = name === 'postgres' || name === 'sqlite' ? size : 20_000;
    while (loaded < size && performance.now() - t0 < config.loadBudgetMs) {
      const to = Math.min(size, loaded + step);
      await loader.load(loaded, to);
      loaded = to;
    }
    const loadSeconds = (performance.now() - t0) / 1000;
    const driver = backend.driver(widgetL);
    const counted = (await driver.countByVersion!())['1.0'] ?? 0;
    if (counted !== loaded)
      throw new Error(`loaded ${loaded} widgets but the store counts ${counted}`);

    const upgrade = await openUpgrade(ns.operatorUrl, { resources: [widgetM] });
    try {
      await upgrade.expand();
      let load: LoadResult | undefined;
      if (withLoad) {
        child = await startLoad(ns.url, loaded, config);
        command(child, { type: 'phase', phase: 'before' });
        await sleep(config.beforeMs);
        command(child, { type: 'phase', phase: 'during' });
      }
      let engineRate = 0;
      const started = performance.now();
      const [report] = await upgrade.migrate({
        batch: config.batch,
        only: ['widget'],
        onProgress: (p) => {
          engineRate = p.ratePerSecond;
        },
      });
      const seconds = (performance.now() - started) / 1000;
      if (child) {
        command(child, { type: 'phase', phase: 'after' });
        load = await stopLoad(child);
        child = undefined;
      }
      if (report?.remaining !== 0)
        throw new Error(`migrate left ${report?.remaining ?? 'all'} widgets older than 1.1`);
      const after = await driver.countByVersion!();
      if ((after['1.1'] ?? 0) !== loaded || Object.keys(after).length !== 1)
        throw new Error(
          `after migrate the store counts ${JSON.stringify(after)}, not ${loaded} at 1.1`,
        );
      const round: MigrateRound = {
        records: loaded,
        converted: report.converted,
        seconds: Math.round(seconds * 1000) / 1000,
        recordsPerSecond: Math.round(report.converted / seconds),
        engineRatePerSecond: Math.round(engineRate),
        loadSeconds: Math.round(loadSeconds * 10) / 10,
        ...(load ? { load } : {}),
      };
      log(
        `  ${name} ${loaded}${withLoad ? ' (load)' : ''}: ${round.converted} converted in ${round.seconds} s = ${round.recordsPerSecond}/s (engine ${round.engineRatePerSecond}/s; loaded in ${round.loadSeconds} s)` +
          (load
            ? `; update p99 ${load.before.update?.p99Ms ?? '–'} → ${load.during.update?.p99Ms ?? '–'} ms, get p99 ${load.before.get?.p99Ms ?? '–'} → ${load.during.get?.p99Ms ?? '–'} ms`
            : ''),
      );
      return { ...round, loadMethod: loader.method };
    } finally {
      await upgrade.close();
    }
  } finally {
    if (child) {
      child.kill('SIGKILL');
      await once(child, 'exit').catch(() => {});
    }
    await loader.close().catch(() => {});
    await opened.stores.close().catch(() => {});
    await ns
      .drop()
      .catch((err: Error) => log(`  ${name}: dropping the namespace failed: ${err.message}`));
  }
}

/** Every size of one backend, each in rounds of idle and (at the load sizes) loaded runs. */
async function runBackend(
  name: MigrateBackend,
  config: MigrateBenchConfig,
  work: string,
  runStarted: number,
  log: (line: string) => void,
): Promise<MigrateBackendResult> {
  let server: MigrateServer;
  try {
    server = await startServer(name, work);
  } catch (err) {
    return {
      backend: name,
      server: null,
      reason: `server did not start: ${(err as Error).message}`,
      sizes: [],
    };
  }
  const sizes: SizeResult[] = [];
  try {
    // The slowest run of the size before: the seconds that grow with the size (load and
    // migrate) and those that do not (namespace, expand of few records, the load's start).
    let previous: { target: number; scaled: number; fixed: number } | undefined;
    for (const target of config.sizes[name]) {
      const modes0 = config.loadSizes.includes(target) ? 2 : 1;
      // Every run at this size: the load, the expand and the migrate of the size before,
      // scaled linearly (a lower bound where a step grows faster than linearly).
      const projectedMs = previous
        ? (previous.scaled * (target / previous.target) + previous.fixed) *
          1000 *
          config.rounds *
          modes0
        : 0;
      const elapsed = performance.now() - runStarted;
      const why =
        elapsed > config.runBudgetMs
          ? `the run's budget of ${config.runBudgetMs / 60_000} min was spent`
          : projectedMs > config.sizeBudgetMs || elapsed + projectedMs > config.runBudgetMs
            ? `projected at ${Math.round(projectedMs / 60_000)} min from ${num(previous!.target)} records (one run took ${Math.round(previous!.scaled + previous!.fixed)} s), beyond the size budget of ${config.sizeBudgetMs / 60_000} min or the run's remaining ${Math.max(0, Math.round((config.runBudgetMs - elapsed) / 60_000))} min`
            : undefined;
      if (why) {
        sizes.push({ target, reached: null, note: `not run: ${why}`, idle: [], loaded: [] });
        log(`  ${name} ${target}: not run: ${why}`);
        continue;
      }
      const modes = config.loadSizes.includes(target)
        ? (['idle', 'load'] as const)
        : (['idle'] as const);
      const idle: MigrateRound[] = [];
      const loaded: MigrateRound[] = [];
      let method = '';
      let note: string | undefined;
      try {
        for (let round = 0; round < config.rounds; round++) {
          // Idle and loaded runs in a new random order each round: drift in the machine's
          // load falls on both alike.
          for (const mode of shuffled(modes)) {
            const t = performance.now();
            const r = await withDeadline(
              measureOnce(name, server, target, mode === 'load', config, log),
              config.sizeBudgetMs,
              `${name} ${target}${mode === 'load' ? ' with load' : ''}`,
            );
            const total = (performance.now() - t) / 1000;
            const scaled = r.seconds + r.loadSeconds;
            const before = previous?.target === target ? previous : undefined;
            previous = {
              target,
              scaled: Math.max(before?.scaled ?? 0, scaled),
              fixed: Math.max(before?.fixed ?? 0, total - scaled),
            };
            method = r.loadMethod;
            const { loadMethod: _, ...rest } = r;
            (mode === 'load' ? loaded : idle).push(rest);
          }
        }
      } catch (err) {
        note = `failed: ${(err as Error).message}`;
        log(`  ${name} ${target}: ${note}`);
      }
      const reached = Math.min(...[...idle, ...loaded].map((r) => r.records));
      sizes.push({
        target,
        reached: Number.isFinite(reached) ? reached : null,
        loadMethod: method,
        ...(note === undefined && reached < target
          ? { note: `load budget of ${config.loadBudgetMs / 1000} s reached at ${reached} records` }
          : note === undefined
            ? {}
            : { note }),
        idle,
        loaded,
      });
    }
  } finally {
    await server.stop().catch(() => {});
  }
  return { backend: name, server: server.description, sizes };
}

const USAGE = `usage: npm run migrate -w @polystore/bench -- [--quick] [--backends postgres,sqlite,...] [--sizes 10000,300000] [--rounds 3] [--out DIR]

  --quick      10k records per backend, a few minutes
  --backends   comma-separated subset of ${MIGRATE_BACKENDS.join(',')} (default: all)
  --sizes      record counts for every backend chosen (default: 10000,300000,1000000; ZooKeeper, Mongo 10000,100000)
  --load-sizes sizes that also run with the concurrent load (default: 10000,300000)
  --rounds     measured rounds per size and mode (default 3)
  --batch      migrate({ batch }) (default ${MIGRATE_FULL.batch})
  --budget-min the run's time budget in minutes: sizes projected to end later are not run (default ${MIGRATE_FULL.runBudgetMs / 60_000}; quick ${MIGRATE_QUICK.runBudgetMs / 60_000})
  --out        directory of the report files (default: bench/results)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      backends: { type: 'string' },
      sizes: { type: 'string' },
      'load-sizes': { type: 'string' },
      rounds: { type: 'string' },
      batch: { type: 'string' },
      'budget-min': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const counts = (text: string | undefined) =>
    text?.split(',').map((s) => {
      const n = Number(s.trim());
      if (!Number.isSafeInteger(n) || n < 2) throw new Error(`not a record count: ${s}\n${USAGE}`);
      return n;
    });
  let config = values.quick ? MIGRATE_QUICK : MIGRATE_FULL;
  const sizes = counts(values.sizes);
  const loadSizes = counts(values['load-sizes']);
  if (values.batch) config = { ...config, batch: Number(values.batch) };
  if (values['budget-min'])
    config = { ...config, runBudgetMs: Number(values['budget-min']) * 60_000 };
  if (sizes || loadSizes || values.rounds) {
    config = {
      ...config,
      mode: 'custom',
      ...(sizes
        ? {
            sizes: {
              postgres: sizes,
              sqlite: sizes,
              redis: sizes,
              zookeeper: sizes,
              mongo: sizes,
            },
          }
        : {}),
      ...(loadSizes ? { loadSizes } : {}),
      ...(values.rounds ? { rounds: Number(values.rounds) } : {}),
    };
  }
  const chosen = (values.backends?.split(',').map((s) => s.trim()) ?? [
    ...MIGRATE_BACKENDS,
  ]) as MigrateBackend[];
  for (const b of chosen) {
    if (!MIGRATE_BACKENDS.includes(b)) throw new Error(`unknown backend ${b}\n${USAGE}`);
  }
  const outDir = resolve(
    values.out ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'results'),
  );
  const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

  const startedAt = new Date();
  const loadAtStart = loadavg()[0] ?? 0;
  const t0 = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'polystore-migrate-bench-'));
  const results: MigrateBackendResult[] = [];
  try {
    for (const name of chosen) {
      log(`${name}: starting`);
      results.push(await runBackend(name, config, work, t0, log));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const cpu = cpus();
  const report: MigrateBenchReport = {
    machine: {
      hostname: hostname(),
      cpus: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      load: [Math.round(loadAtStart * 10) / 10, Math.round((loadavg()[0] ?? 0) * 10) / 10],
    },
    startedAt: startedAt.toISOString(),
    seconds: Math.round((performance.now() - t0) / 1000),
    config,
    results,
    goals: migrateGoals(results),
  };
  mkdirSync(outDir, { recursive: true });
  const date = startedAt.toISOString().slice(0, 10);
  const base = join(
    outDir,
    `migrate-${hostname()}-${date}${config.mode === 'full' ? '' : `-${config.mode}`}`,
  );
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, renderMigrateMarkdown(report));
  log(`report: ${base}.md and ${base}.json (${report.seconds} s)`);
  const missing = results.flatMap((r) =>
    r.server === null
      ? [`${r.backend}: ${r.reason}`]
      : r.sizes.filter((s) => s.note).map((s) => `${r.backend} ${s.target}: ${s.note}`),
  );
  for (const m of missing) log(`not reached: ${m}`);
  process.exitCode = missing.length > 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().then(
    () => process.exit(),
    (err) => {
      console.error(err);
      process.exit(2);
    },
  );
}
