import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BACKENDS, type BackendName } from './backend-target.js';
import { FULL, QUICK, withScale, withScaleBudget } from './bench-config.js';
import { checkGoals, missingCells } from './goals.js';
import { type BenchReport, renderMarkdown } from './report.js';
import { type BackendResult, scaleDeadlineMs } from './run-backend.js';

const USAGE = `usage: npm run bench -w @polystore/bench -- [--quick] [--backends memory,sqlite,...] [--scale SMALL,LARGE] [--scale-budget S] [--out DIR]

  --quick      CI smoke run (< 2 min): small sizes, short timings; exits 1 unless every cell was measured
  --backends   comma-separated subset of ${BACKENDS.join(',')} (default: all)
  --scale      record counts of the scale test for every backend (default 10000,1000000; ZooKeeper 100000)
  --scale-budget  seconds the scale test may spend loading the large size (default 300; --quick 20)
  --out        directory of the report files (default: bench/results)`;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    backends: { type: 'string' },
    out: { type: 'string' },
    scale: { type: 'string' },
    'scale-budget': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
let config = values.quick ? QUICK : FULL;
try {
  config = withScaleBudget(withScale(config, values.scale), values['scale-budget']);
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
const chosen = (values.backends?.split(',').map((s) => s.trim()) ?? [...BACKENDS]) as BackendName[];
for (const b of chosen) {
  if (!BACKENDS.includes(b)) {
    console.error(`unknown backend ${b}\n${USAGE}`);
    process.exit(2);
  }
}
const outDir = resolve(
  values.out ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'results'),
);
/**
 * A backend's process is killed after this long (its servers are cleaned up by the
 * harness): what its measurements may take, and on top what its scale test may (which
 * gives itself up at its own deadline), so a slow load never costs the cells measured.
 */
const MEASURE_LIMIT_MS = { quick: 300_000, full: 600_000 } as const;
const childLimitMs = MEASURE_LIMIT_MS[config.mode] + scaleDeadlineMs(config);
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

const startedAt = new Date();
const loadAtStart = loadavg()[0] ?? 0;
const t0 = performance.now();
const work = mkdtempSync(join(tmpdir(), 'polystore-bench-'));
const results: BackendResult[] = [];
try {
  for (const name of chosen) {
    log(`${name}: starting`);
    const result = await runInChild(name);
    results.push(result);
    log(
      `${name}: ${result.status}${result.reason ? ` (${result.reason})` : ''} in ${result.seconds} s`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** Runs one backend in a child process (run-one.ts) and reads its result. */
async function runInChild(name: BackendName): Promise<BackendResult> {
  const file = join(work, `${name}.result.json`);
  const t = performance.now();
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      join(dirname(fileURLToPath(import.meta.url)), 'run-one.ts'),
      '--backend',
      name,
      '--mode',
      config.mode,
      '--work',
      work,
      '--result',
      file,
      ...(values.scale === undefined ? [] : ['--scale', values.scale]),
      ...(values['scale-budget'] === undefined ? [] : ['--scale-budget', values['scale-budget']]),
    ],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const limit = setTimeout(() => child.kill('SIGKILL'), childLimitMs);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(limit);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as BackendResult;
  const why =
    signal === 'SIGKILL'
      ? `killed after ${childLimitMs / 1000} s`
      : `exited with ${code ?? signal}`;
  return {
    backend: name,
    status: 'missing',
    reason: `benchmark process ${why}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`,
    operations: {},
    seconds: Math.round((performance.now() - t) / 100) / 10,
  };
}

const cpu = cpus();
const report: BenchReport = {
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
  goals: checkGoals(results),
  missing: missingCells(results, chosen),
};
mkdirSync(outDir, { recursive: true });
const base = join(outDir, config.mode === 'quick' ? `${hostname()}-quick` : hostname());
writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(`${base}.md`, renderMarkdown(report));
log(`report: ${base}.md and ${base}.json (${report.seconds} s)`);
for (const m of report.missing) log(`missing: ${m}`);
if (config.mode === 'quick' && report.missing.length > 0) {
  log(`--quick: ${report.missing.length} cell(s) not measured`);
  process.exit(1);
}
process.exit(0);
