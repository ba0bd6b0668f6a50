/**
 * `polystore migrate status|expand|run|switch|contract`, run in process through `runCli`
 * against SQLite and the shared PostgreSQL, Redis and ZooKeeper servers: the status exit
 * codes through a whole L → M → N cycle with fleet members of the older and newer releases
 * live, the `--json` shape, `run`'s JSON lines and its stop on SIGINT / SIGTERM, the
 * refused contract, misuse. (MongoDB on FerretDB passes too; left out to keep the file
 * within its time budget on a loaded machine.)
 */
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type AnyResource, createContext } from '@polystore/core';
import {
  type FleetMember,
  joinFleet,
  MigrateExitCode,
  type ResourceStatus,
  type UpgradeStatus,
} from '@polystore/migrate';
import { widgetL, widgetM } from '@polystore/testing/upgrade-fixtures';
import { freshStoreUrl, removeTempDirs } from '@polystore/testing/vitest';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.js';
import { runCli } from '../src/run-cli.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const release = (r: 'l' | 'm' | 'n') => ['--module', join(FIXTURES, `widget-${r}.ts`)];
const ctx = createContext({ projectId: 'p1' });

const members: FleetMember[] = [];
afterEach(async () => {
  for (const m of members.splice(0).reverse()) await m.close();
});
afterAll(removeTempDirs);

interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/**
 * Runs the CLI in process; `onOut` sees stdout as it is written. `tty` makes stdout look
 * like a terminal.
 */
async function cli(
  args: readonly string[],
  options: { onOut?: (chunk: string) => void; tty?: boolean } = {},
): Promise<CliResult> {
  const out = new PassThrough();
  const err = new PassThrough();
  if (options.tty) Object.assign(out, { isTTY: true, columns: 100 });
  let outText = '';
  let errText = '';
  out.on('data', (d: Buffer) => {
    outText += d.toString();
    options.onOut?.(d.toString());
  });
  err.on('data', (d: Buffer) => {
    errText += d.toString();
  });
  const code = await runCli(args, { streams: { out, err }, env: {} });
  return { code, out: outText, err: errText };
}

/** A process of the fleet running `release` of the widget service. */
async function member(url: string, resource: AnyResource, releaseName: string) {
  const m = await joinFleet(url, {
    service: 'widget-api',
    release: releaseName,
    resources: [resource],
    heartbeatMs: 100,
    // Long enough that a loaded machine never lapses it in the middle of a check.
    leaseMs: 60_000,
  });
  members.push(m);
  return m;
}

async function statusJson(store: readonly string[], r: 'l' | 'm' | 'n') {
  const run = await cli(['migrate', 'status', ...store, ...release(r), '--json']);
  return { code: run.code, status: JSON.parse(run.out) as UpgradeStatus };
}

const STATUS_KEYS = ['resources', 'services', 'next', 'blocked', 'unknownResources'];
const RESOURCE_KEYS: (keyof ResourceStatus)[] = [
  'resource',
  'codeVersion',
  'pin',
  'stored',
  'belowCode',
  'versions',
  'elements',
  'missing',
  'lastStep',
  'converted',
  'checkpoint',
  'runner',
  'next',
  'blockedBy',
];
const PROGRESS_KEYS = ['resource', 'found', 'done', 'ratePerSecond', 'etaMs'];

/** The JSON lines `run` printed on a non-terminal stdout. */
function progressLines(out: string): Record<string, unknown>[] {
  const lines = out.split('\n').filter((l) => l !== '');
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const p of parsed) expect(Object.keys(p)).toEqual(PROGRESS_KEYS);
  return parsed;
}

describe.each(['sqlite', 'postgres', 'redis', 'zookeeper'] as const)(
  'polystore migrate on %s',
  (backend) => {
    it('walks L → M → N with every status exit code, old and new code side by side', async () => {
      const url = await freshStoreUrl(backend, 'cli_migrate');
      const store = ['--store', url];
      const status = (r: 'l' | 'm' | 'n') => cli(['migrate', 'status', ...store, ...release(r)]);

      const l = await member(url, widgetL, '1.0.0');
      for (let i = 0; i < 5; i++)
        await l.stores.store(widgetL).create(ctx, { serial: `s${i}`, name: `n${i}`, size: i * 20 });

      // M's code: expand is next, even with L live (expand is additive).
      let r = await status('m');
      expect(r.code).toBe(ExitCode.expandNeeded);
      expect(r.out).toContain('widget: code 1.1, pin 1.0, next expand');
      expect(r.out).toMatch(/field color +absent/);
      expect(r.out).toMatch(/stored +1\.0: 5 \(5 below 1\.1\)/);
      expect(r.out).toContain(
        'migrate status: expand needed: run polystore migrate expand (exit 10)',
      );

      r = await cli(['migrate', 'expand', ...store, ...release('m'), '--dry-run']);
      expect(r.code).toBe(ExitCode.ok);
      expect(r.out).toMatch(/would add to widget: .*field color/);
      expect((await status('m')).code).toBe(ExitCode.expandNeeded);
      r = await cli(['migrate', 'expand', ...store, ...release('m')]);
      expect(r.code).toBe(ExitCode.ok);
      expect(r.out).toMatch(/added to widget: .*field title.*unique \(serial\)/);

      // L is live and reads 1.0: the pin cannot move, so migrate is next and blocked.
      r = await status('m');
      expect(r.code).toBe(ExitCode.upgradeBlocked);
      expect(r.out).toMatch(/field color +write-only/);
      expect(r.out).toMatch(
        /blocked by +widget-api \S+ \(release 1\.0\.0\) reads widget 1\.0: the pin cannot move to 1\.1/,
      );
      expect(r.out).toMatch(/^services: 1 live$/m);
      expect(r.out).toMatch(
        new RegExp(
          `${l.member.replace(/[.]/g, '\\.')} +widget-api +1\\.0\\.0 +widget 1\\.0 +widget 1\\.0 +\\d+\\.\\d s ago`,
        ),
      );
      expect(r.out).toContain(
        'migrate status: migrate is next and blocked (widget: see "blocked by") (exit 13)',
      );

      const blocked = await statusJson(store, 'm');
      expect(blocked.code).toBe(ExitCode.upgradeBlocked);
      expect(Object.keys(blocked.status)).toEqual(STATUS_KEYS);
      expect(Object.keys(blocked.status.resources[0]!)).toEqual(RESOURCE_KEYS);
      expect(blocked.status).toMatchObject({
        next: 'migrate',
        blocked: true,
        unknownResources: [],
      });
      expect(blocked.status.resources[0]).toMatchObject({
        resource: 'widget',
        codeVersion: '1.1',
        pin: '1.0',
        stored: { '1.0': 5 },
        belowCode: 5,
        versions: { removed: [], added: ['1.1'], older: ['1.0'] },
        missing: [],
        lastStep: 'expand',
        checkpoint: null,
        runner: null,
        next: 'migrate',
      });
      expect(blocked.status.resources[0]!.elements).toContainEqual({
        name: 'field color',
        state: 'write-only',
      });
      expect(blocked.status.services).toEqual([
        {
          member: l.member,
          service: 'widget-api',
          release: '1.0.0',
          reads: { widget: '1.0' },
          writes: { widget: '1.0' },
          lastSeenAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        },
      ]);

      r = await cli(['migrate', 'run', ...store, ...release('m'), '--wait', '200']);
      expect(r.code).toBe(ExitCode.upgradeBlocked);
      expect(r.err).toContain('polystore migrate run: migrate widget is blocked:');
      expect(r.err).toMatch(
        / {2}- widget-api \S+ \(release 1\.0\.0\) knows widget 1\.0, older than 1\.1/,
      );

      // M joins (it writes at the pin, 1.0), L leaves: migrate may run.
      const m = await member(url, widgetM, '1.1.0');
      await l.close();
      expect((await status('m')).code).toBe(ExitCode.migrateNeeded);

      r = await cli(['migrate', 'run', ...store, ...release('m'), '--batch', '2']);
      expect(r.code).toBe(ExitCode.ok);
      const pages = progressLines(r.out);
      expect(pages.length).toBeGreaterThanOrEqual(3);
      expect(pages.at(-1)).toMatchObject({ resource: 'widget', found: 5, done: 5 });
      expect(r.err).toContain('widget: pin 1.0 → 1.1; converted 5; 0 still older');
      expect(r.err).toContain(
        "every record is at the code's version; next: polystore migrate switch",
      );
      expect(m.pin(widgetM)).toBe('1.1');

      r = await status('m');
      expect(r.code).toBe(ExitCode.switchNeeded);
      expect(r.out).toMatch(/stored +1\.1: 5 \(0 below 1\.1\)/);
      r = await cli(['migrate', 'switch', ...store, ...release('m')]);
      expect(r.code).toBe(ExitCode.ok);
      expect(r.out).toContain('made public in widget: field color, field title');
      r = await status('m');
      expect(r.code).toBe(ExitCode.ok);
      expect(r.out).toMatch(/field color +public/);
      expect(r.out).toContain('nothing to do');

      // N's code: the pin must move to 2.0, which M (reading 1.1) blocks; contract is refused.
      expect((await cli(['migrate', 'expand', ...store, ...release('n')])).out).toContain(
        'nothing to add',
      );
      expect((await status('n')).code).toBe(ExitCode.upgradeBlocked);
      r = await cli(['migrate', 'contract', ...store, ...release('n')]);
      expect(r.code).toBe(ExitCode.upgradeBlocked);
      expect(r.out).toBe('');
      expect(r.err).toContain('contract widget is blocked:');
      expect(r.err).toContain('  - widget needs migrate first');
      expect(r.err).toMatch(
        / {2}- widget-api \S+ \(release 1\.1\.0\) reads widget 1\.1: the pin cannot move to 2\.0/,
      );

      await m.close();
      expect((await status('n')).code).toBe(ExitCode.migrateNeeded);
      r = await cli(['migrate', 'run', ...store, ...release('n')]);
      expect(r.code).toBe(ExitCode.ok);
      expect(progressLines(r.out).at(-1)).toMatchObject({ found: 5, done: 5 });
      r = await status('n');
      expect(r.code).toBe(ExitCode.contractReady);
      expect(r.out).toMatch(/field note +deprecated/);
      r = await cli(['migrate', 'contract', ...store, ...release('n'), '--dry-run']);
      expect(r.code).toBe(ExitCode.ok);
      expect(r.out).toMatch(
        /would drop from widget: (field name, field note|field note, field name)/,
      );
      expect((await status('n')).code).toBe(ExitCode.contractReady);
      r = await cli(['migrate', 'contract', ...store, ...release('n')]);
      expect(r.code).toBe(ExitCode.ok);
      expect(r.out).toContain('dropped 2 element(s)');

      const done = await statusJson(store, 'n');
      expect(done.code).toBe(ExitCode.ok);
      expect(done.status).toMatchObject({ next: 'none', blocked: false, services: [] });
      expect(done.status.resources[0]).toMatchObject({
        pin: '2.0',
        stored: { '2.0': 5 },
        belowCode: 0,
      });
      expect(done.status.resources[0]!.elements).toContainEqual({
        name: 'field note',
        state: 'dropped',
      });
    });
  },
);

describe('polystore migrate run', () => {
  it('stops after the current page on SIGINT and SIGTERM, keeps the checkpoint, and resumes', async () => {
    const url = await freshStoreUrl('sqlite', 'cli_migrate');
    const store = ['--store', url];
    const l = await member(url, widgetL, '1.0.0');
    for (let i = 0; i < 12; i++)
      await l.stores.store(widgetL).create(ctx, { serial: `s${i}`, name: `n${i}`, size: i });
    await l.close();
    expect((await cli(['migrate', 'expand', ...store, ...release('m')])).code).toBe(ExitCode.ok);
    const listeners = () => process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');
    const before = listeners();

    const stopWith = async (signal: 'SIGINT' | 'SIGTERM') => {
      let sent = false;
      const run = await cli(['migrate', 'run', ...store, ...release('m'), '--batch', '2'], {
        onOut: () => {
          if (sent) return;
          sent = true;
          process.emit(signal, signal);
        },
      });
      expect(sent).toBe(true);
      return run;
    };

    let r = await stopWith('SIGINT');
    expect(r.code).toBe(ExitCode.interrupted);
    expect(progressLines(r.out)).toEqual([expect.objectContaining({ found: 12, done: 2 })]);
    expect(r.err).toContain('SIGINT: stopping after the current page');
    expect(r.err).toContain(
      'stopped by SIGINT with 10 record(s) still older; the checkpoint is kept',
    );
    expect(listeners()).toBe(before);
    let { code, status } = await statusJson(store, 'm');
    expect(code).toBe(ExitCode.migrateNeeded);
    expect(status.resources[0]).toMatchObject({
      pin: '1.1',
      converted: 2,
      checkpoint: { version: '1.0', after: expect.stringMatching(/./) },
      runner: null,
      stored: { '1.0': 10, '1.1': 2 },
    });
    expect((await cli(['migrate', 'status', ...store, ...release('m')])).out).toMatch(
      /migrate +last step \S+; 2 converted; checkpoint 1\.0 after \S+; runner lease free/,
    );

    r = await stopWith('SIGTERM');
    expect(r.code).toBe(ExitCode.terminated);
    expect(progressLines(r.out)).toEqual([expect.objectContaining({ found: 12, done: 4 })]);

    r = await cli(['migrate', 'run', ...store, ...release('m'), '--batch', '5', '--rate', '1000']);
    expect(r.code).toBe(ExitCode.ok);
    expect(progressLines(r.out).map((p) => p.done)).toEqual([9, 12]);
    ({ code, status } = await statusJson(store, 'm'));
    expect(code).toBe(ExitCode.switchNeeded);
    expect(status.resources[0]).toMatchObject({ stored: { '1.1': 12 }, checkpoint: null });
  });

  it('draws a progress bar with rate and ETA when stdout is a terminal', async () => {
    const url = await freshStoreUrl('sqlite', 'cli_migrate');
    const store = ['--store', url];
    const l = await member(url, widgetL, '1.0.0');
    for (let i = 0; i < 4; i++)
      await l.stores.store(widgetL).create(ctx, { serial: `s${i}`, name: `n${i}` });
    await l.close();
    await cli(['migrate', 'expand', ...store, ...release('m')]);
    const r = await cli(['migrate', 'run', ...store, ...release('m'), '--batch', '1'], {
      tty: true,
    });
    expect(r.code).toBe(ExitCode.ok);
    expect(r.out).toMatch(/widget \[[^\]]+\] 4\/4 records {2}[\d.]+\/s {2}ETA \S+/);
    expect(r.out).toContain('widget: pin 1.0 → 1.1; converted 4; 0 still older');
    expect(r.out).not.toContain('{"resource"');
    expect(r.err).toBe('');
  });
});

describe('polystore migrate, misuse', () => {
  const sqlite = async () => ['--store', await freshStoreUrl('sqlite', 'cli_migrate')];

  it.each([
    [['run', '--batch', '0'], '--batch must be an integer from 1 to 10000'],
    [['run', '--batch', 'many'], '--batch must be an integer from 1 to 10000'],
    [['run', '--rate', '-5'], '--rate must be an integer'],
    [['run', '--runner-lease', '10'], '--runner-lease must be an integer from 100'],
    [['status', '--bogus'], "unknown option '--bogus'"],
    [['frobnicate'], "unknown command 'frobnicate'"],
  ])('migrate %j is a usage error (exit 2)', async (args, message) => {
    const r = await cli(['migrate', ...args, ...(await sqlite()), ...release('m')]);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toContain(message);
  });

  it('needs a store URL, and a module that exports resources', async () => {
    let r = await cli(['migrate', 'status', ...release('m')]);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toContain('no store URL');
    r = await cli([
      'migrate',
      'status',
      ...(await sqlite()),
      '--module',
      join(FIXTURES, '..', 'run-polystore.ts'),
    ]);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toContain('no resource or object registry is exported');
  });

  it('exits 3 when the store is unreachable, with its password redacted', async () => {
    const r = await cli([
      'migrate',
      'status',
      '--store',
      'postgres://app:hunter2@127.0.0.1:1/app',
      ...release('m'),
    ]);
    expect(r.code).toBe(ExitCode.unavailable);
    expect(r.err).toContain('postgres://app:***@127.0.0.1:1/app');
    expect(r.err).not.toContain('hunter2');
  });

  it('keeps the engine exit codes and the CLI codes one table', () => {
    expect({
      upToDate: ExitCode.ok,
      expandNeeded: ExitCode.expandNeeded,
      migrateNeeded: ExitCode.migrateNeeded,
      contractReady: ExitCode.contractReady,
      blocked: ExitCode.upgradeBlocked,
      switchNeeded: ExitCode.switchNeeded,
    }).toEqual({ ...MigrateExitCode });
  });
});
