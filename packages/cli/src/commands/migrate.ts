import type { AdapterRegistry, AnyResource } from '@polystore/core';
import {
  type ElementsReport,
  exitCodeOf,
  MigrateExitCode,
  type MigrateProgress,
  type MigrateReport,
  openUpgrade,
  type ResourceStatus,
  type Upgrade,
  UpgradeBlockedError,
  type UpgradeStatus,
} from '@polystore/migrate';
import { SingleBar } from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { loadAdapters } from '../load-adapters.js';
import type { Printer } from '../printer.js';
import { loadSources } from './schema.js';

/** What every `polystore migrate` command is given. */
export interface MigrateCommandOptions {
  /** The new release's resource definitions (what `--module` exports). */
  readonly resources: readonly AnyResource[];
  /** The adapter registry `--adapter` modules were registered in. */
  readonly registry?: AdapterRegistry;
}

/** Options of `polystore migrate status`. */
export interface MigrateStatusOptions extends MigrateCommandOptions {
  /** Print the `UpgradeStatus` object as JSON instead of the tables. */
  readonly json?: boolean;
}

/** Options of `polystore migrate expand|contract`. */
export interface MigrateDryRunOptions extends MigrateCommandOptions {
  /** Print what would change; change nothing. */
  readonly dryRun?: boolean;
}

/** Options of `polystore migrate run`. */
export interface MigrateRunOptions extends MigrateCommandOptions {
  /** Records read and converted per page (engine default 500). */
  readonly batch?: number;
  /** At most this many records converted per second (default: no limit). */
  readonly rate?: number;
  /** Records converted at once where the backend has no batched rewrite (engine default 8). */
  readonly concurrency?: number;
  /** The runner lease, ms (engine default 10 000). */
  readonly runnerLeaseMs?: number;
  /** How long to wait for the fleet to acknowledge the pin, or another runner's lease to lapse, ms. */
  readonly waitMs?: number;
  /**
   * Stops the run after the current page, as SIGINT or SIGTERM do (the command listens for
   * both while it runs).
   */
  readonly signal?: AbortSignal;
}

const STATUS_EXIT_CODES: ReadonlyMap<number, ExitCodeValue> = new Map([
  [MigrateExitCode.upToDate, ExitCode.ok],
  [MigrateExitCode.expandNeeded, ExitCode.expandNeeded],
  [MigrateExitCode.migrateNeeded, ExitCode.migrateNeeded],
  [MigrateExitCode.contractReady, ExitCode.contractReady],
  [MigrateExitCode.blocked, ExitCode.upgradeBlocked],
  [MigrateExitCode.switchNeeded, ExitCode.switchNeeded],
]);

/**
 * The exit code of `polystore migrate status` for a status: the engine's `exitCodeOf`
 * (0 nothing to do, 10 expand, 11 migrate, 12 contract ready, 13 blocked, 14 switch).
 */
export function statusExitCode(status: UpgradeStatus): ExitCodeValue {
  return STATUS_EXIT_CODES.get(exitCodeOf(status)) ?? ExitCode.failure;
}

/**
 * The status with its keys in a fixed order (the order of the `UpgradeStatus` interface),
 * stored versions oldest first and services by member, so `--json` output diffs cleanly.
 */
export function stableStatus(status: UpgradeStatus): UpgradeStatus {
  const byVersion = (a: string, b: string) => compareVersions(a, b);
  const resource = (r: ResourceStatus): ResourceStatus => ({
    resource: r.resource,
    codeVersion: r.codeVersion,
    pin: r.pin,
    stored: Object.fromEntries(Object.entries(r.stored).sort(([a], [b]) => byVersion(a, b))),
    belowCode: r.belowCode,
    versions: {
      removed: [...r.versions.removed],
      added: [...r.versions.added],
      older: [...r.versions.older].sort(byVersion),
    },
    elements: r.elements.map((e) => ({ name: e.name, state: e.state })),
    missing: [...r.missing],
    lastStep: r.lastStep,
    converted: r.converted,
    checkpoint: r.checkpoint && { version: r.checkpoint.version, after: r.checkpoint.after },
    runner: r.runner && { id: r.runner.id, until: r.runner.until },
    next: r.next,
    blockedBy: [...r.blockedBy],
  });
  return {
    resources: status.resources.map(resource),
    services: [...status.services]
      .sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0))
      .map((s) => ({
        member: s.member,
        service: s.service,
        release: s.release,
        reads: { ...s.reads },
        writes: { ...s.writes },
        lastSeenAt: s.lastSeenAt,
      })),
    next: status.next,
    blocked: status.blocked,
    unknownResources: [...status.unknownResources].sort(),
  };
}

/** `1.10` after `1.9`; anything not `major.minor` after every version, by code point. */
function compareVersions(a: string, b: string): number {
  const parse = (v: string) => (/^\d+\.\d+$/.test(v) ? v.split('.').map(Number) : undefined);
  const pa = parse(a);
  const pb = parse(b);
  if (pa && pb) return pa[0]! - pb[0]! || pa[1]! - pb[1]!;
  if (pa) return -1;
  if (pb) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

async function withUpgrade(
  url: string,
  opts: MigrateCommandOptions & { readonly runnerLeaseMs?: number },
  phase: string,
  print: Printer,
  run: (upgrade: Upgrade) => Promise<ExitCodeValue>,
): Promise<ExitCodeValue> {
  const upgrade = await openUpgrade(url, {
    resources: [...opts.resources],
    registry: opts.registry,
    runnerLeaseMs: opts.runnerLeaseMs,
  });
  try {
    return await run(upgrade);
  } catch (err) {
    if (!(err instanceof UpgradeBlockedError)) throw err;
    print.err(`polystore migrate ${phase}: ${err.phase} ${err.resource} is blocked:`);
    for (const reason of err.reasons) print.err(`  - ${reason}`);
    return ExitCode.upgradeBlocked;
  } finally {
    await upgrade.close();
  }
}

/** Pads each column to its widest cell. */
function columns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

const list = (items: readonly string[]) => (items.length === 0 ? 'none' : items.join(', '));
const versionMap = (m: Readonly<Record<string, string>>) =>
  list(Object.entries(m).map(([resource, version]) => `${resource} ${version}`));

function ago(iso: string, now: number): string {
  const ms = now - Date.parse(iso);
  return Number.isFinite(ms) ? `${(Math.max(0, ms) / 1000).toFixed(1)} s ago` : iso;
}

const NEXT_HINT: Record<number, string> = {
  [ExitCode.ok]: 'nothing to do: every resource is where the code wants it',
  [ExitCode.expandNeeded]: 'expand needed: run polystore migrate expand',
  [ExitCode.migrateNeeded]: 'migrate needed: run polystore migrate run',
  [ExitCode.switchNeeded]: 'switch needed: run polystore migrate switch',
  [ExitCode.contractReady]:
    'contract ready: run polystore migrate contract once no older release will start again',
};

function printResource(r: ResourceStatus, print: Printer, now: number): void {
  const next =
    r.next === 'none' ? 'none' : `${r.next}${r.blockedBy.length > 0 ? ' (blocked)' : ''}`;
  print.out(`${r.resource}: code ${r.codeVersion}, pin ${r.pin ?? 'none'}, next ${next}`);
  const stored = Object.entries(r.stored)
    .sort(([a], [b]) => compareVersions(a, b))
    .map(([v, n]) => `${v}: ${n}`);
  const rows: string[][] = [
    [
      'stored',
      stored.length === 0
        ? 'no records'
        : `${stored.join(', ')} (${r.belowCode} below ${r.codeVersion})`,
    ],
    [
      'versions',
      `removed: ${list(r.versions.removed)}; added: ${list(r.versions.added)}; older: ${list(r.versions.older)}`,
    ],
  ];
  for (const [i, e] of r.elements.entries())
    rows.push([i === 0 ? 'elements' : '', `${e.name.padEnd(24)} ${e.state}`]);
  if (r.elements.length === 0) rows.push(['elements', 'none']);
  const runner =
    r.runner === null
      ? 'free'
      : `held by ${r.runner.id} until ${r.runner.until}${Date.parse(r.runner.until) <= now ? ' (lapsed)' : ''}`;
  rows.push([
    'migrate',
    `last step ${r.lastStep ?? 'none'}; ${r.converted} converted; checkpoint ${
      r.checkpoint === null ? 'none' : `${r.checkpoint.version} after ${r.checkpoint.after}`
    }; runner lease ${runner}`,
  ]);
  for (const [i, reason] of r.blockedBy.entries()) rows.push([i === 0 ? 'blocked by' : '', reason]);
  for (const line of columns(rows)) print.out(`  ${line}`);
}

/**
 * `polystore migrate status`: per resource, the code's version against the pin, the stored
 * counts per object version (from the version index; no record is read), the records below
 * the code's version, the versions diff, every element and its state, the migrate
 * checkpoint and runner lease; then the live services and the next phase with what blocks
 * it. Resolves to {@link statusExitCode} (0, 10 to 14). With `json`, prints the
 * `UpgradeStatus` object instead (keys in a fixed order) and resolves to the same code.
 *
 * @example
 * ```sh
 * polystore migrate status --store "$POLYSTORE_URL" --module dist/resources.js
 * case $? in 10) polystore migrate expand ... ;; 11) polystore migrate run ... ;; esac
 * ```
 */
export async function migrateStatus(
  url: string,
  opts: MigrateStatusOptions,
  print: Printer,
): Promise<ExitCodeValue> {
  return withUpgrade(url, opts, 'status', print, async (upgrade) => {
    const status = await upgrade.status();
    const code = statusExitCode(status);
    if (opts.json) {
      print.out(JSON.stringify(stableStatus(status), null, 2));
      return code;
    }
    const now = Date.now();
    for (const r of status.resources) printResource(r, print, now);
    print.out(
      `services: ${status.services.length === 0 ? 'none live' : `${status.services.length} live`}`,
    );
    if (status.services.length > 0) {
      const rows = [
        ['MEMBER', 'SERVICE', 'RELEASE', 'READS', 'WRITES', 'LAST SEEN'],
        ...status.services.map((s) => [
          s.member,
          s.service,
          s.release,
          versionMap(s.reads),
          versionMap(s.writes),
          ago(s.lastSeenAt, now),
        ]),
      ];
      for (const line of columns(rows)) print.out(`  ${line}`);
    }
    print.out(`unknown resources: ${list(status.unknownResources)}`);
    const blockers = status.resources.filter(
      (r) => r.next === status.next && r.blockedBy.length > 0,
    );
    print.out(
      `migrate status: ${
        code === ExitCode.upgradeBlocked
          ? `${status.next} is next and blocked (${blockers.map((r) => r.resource).join(', ')}: see "blocked by")`
          : (NEXT_HINT[code] ?? `next ${status.next}`)
      } (exit ${code})`,
    );
    return code;
  });
}

function printElements(
  reports: readonly ElementsReport[],
  verb: string,
  preposition: string,
  print: Printer,
): number {
  let n = 0;
  for (const r of reports) {
    if (r.elements.length === 0) continue;
    print.out(`  ${verb} ${preposition} ${r.resource}: ${r.elements.join(', ')}`);
    n += r.elements.length;
  }
  return n;
}

/**
 * `polystore migrate expand`: adds the elements the new release needs and the store
 * lacks (new fields write-only), and records the pin in force; idempotent, drops nothing.
 * With `dryRun`, prints what it would add.
 */
export async function migrateExpand(
  url: string,
  opts: MigrateDryRunOptions,
  print: Printer,
): Promise<ExitCodeValue> {
  return withUpgrade(url, opts, 'expand', print, async (upgrade) => {
    const reports = await upgrade.expand({ dryRun: opts.dryRun === true });
    const n = printElements(reports, opts.dryRun ? 'would add' : 'added', 'to', print);
    print.out(
      n === 0
        ? `migrate expand: nothing to add; the store has every element of ${reports.length} resource(s)`
        : `migrate expand: ${opts.dryRun ? 'would add' : 'added'} ${n} element(s)${
            opts.dryRun ? '' : '; deploy the new release, then run polystore migrate run'
          }`,
    );
    return ExitCode.ok;
  });
}

/** `polystore migrate switch`: makes the fields a migrate backfilled public (queryable). */
export async function migrateSwitch(
  url: string,
  opts: MigrateCommandOptions,
  print: Printer,
): Promise<ExitCodeValue> {
  return withUpgrade(url, opts, 'switch', print, async (upgrade) => {
    const n = printElements(await upgrade.switch(), 'made public', 'in', print);
    print.out(
      n === 0
        ? 'migrate switch: no write-only field to make public'
        : `migrate switch: made ${n} field(s) public`,
    );
    return ExitCode.ok;
  });
}

/**
 * `polystore migrate contract`: drops the elements the new release no longer has; refused
 * (exit 13, reasons on stderr) while a record is older than it or a live process reads an
 * older version. With `dryRun`, prints what it would drop (refused the same way).
 */
export async function migrateContract(
  url: string,
  opts: MigrateDryRunOptions,
  print: Printer,
): Promise<ExitCodeValue> {
  return withUpgrade(url, opts, 'contract', print, async (upgrade) => {
    const reports = await upgrade.contract({ dryRun: opts.dryRun === true });
    const n = printElements(reports, opts.dryRun ? 'would drop' : 'dropped', 'from', print);
    print.out(
      n === 0
        ? 'migrate contract: nothing to drop'
        : `migrate contract: ${opts.dryRun ? 'would drop' : 'dropped'} ${n} element(s)`,
    );
    return ExitCode.ok;
  });
}

function duration(ms: number | null): string {
  if (ms === null) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Shows migrate progress: a bar on a terminal, else one JSON line per page. */
class ProgressView {
  readonly #print: Printer;
  readonly #tty: boolean;
  #bar: SingleBar | undefined;
  #resource: string | undefined;

  constructor(print: Printer) {
    this.#print = print;
    this.#tty = (print.streams.out as { isTTY?: boolean }).isTTY === true;
  }

  /** Where the summary goes: stdout on a terminal; stderr when stdout carries JSON lines. */
  summary(line: string): void {
    if (this.#tty) this.#print.out(line);
    else this.#print.err(line);
  }

  page(p: MigrateProgress): void {
    const ratePerSecond = Math.round(p.ratePerSecond * 10) / 10;
    if (!this.#tty) {
      this.#print.out(
        JSON.stringify({
          resource: p.resource,
          found: p.found,
          done: p.done,
          ratePerSecond,
          etaMs: p.etaMs,
        }),
      );
      return;
    }
    const payload = { resource: p.resource, speed: ratePerSecond, left: duration(p.etaMs) };
    if (this.#resource !== p.resource) {
      this.stop();
      this.#resource = p.resource;
      this.#bar = new SingleBar({
        format: '{resource} [{bar}] {value}/{total} records  {speed}/s  ETA {left}',
        stream: this.#print.streams.out,
        hideCursor: true,
      });
      this.#bar.start(p.found, p.done, payload);
      return;
    }
    this.#bar?.setTotal(p.found);
    this.#bar?.update(p.done, payload);
  }

  stop(): void {
    this.#bar?.stop();
    this.#bar = undefined;
  }
}

/**
 * `polystore migrate run`: the migrate phase. Per resource, moves the pin to the code's
 * version once every live process knows it, waits for every live process to acknowledge
 * it, then converts every older record from the checkpoint, in pages, under the runner
 * lease. Progress: a bar with rate and ETA when stdout is a terminal, else one JSON line
 * per page on stdout (`{"resource","found","done","ratePerSecond","etaMs"}`) and the
 * summary on stderr. SIGINT or SIGTERM (or `signal`) stops it after the current page with
 * the checkpoint kept: exit 130 or 143 (128 + the signal), and a second signal of the same
 * kind ends the process at once. An abort of `signal` stops it the same way (exit 130). A
 * refused phase is exit 13 with its reasons on stderr.
 *
 * @example
 * ```ts
 * const print = new Printer([url], { out: process.stdout, err: process.stderr });
 * const code = await migrateRun(url, { resources: [widget], batch: 1000, rate: 5000 }, print);
 * if (code === ExitCode.upgradeBlocked) console.error('an older release is still live');
 * ```
 */
export async function migrateRun(
  url: string,
  opts: MigrateRunOptions,
  print: Printer,
): Promise<ExitCodeValue> {
  const stop = new AbortController();
  let stoppedBy: 'SIGINT' | 'SIGTERM' | 'signal' | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppedBy !== undefined) return;
    stoppedBy = signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
    print.err(`polystore migrate run: ${signal}: stopping after the current page`);
    stop.abort();
  };
  const onAbort = () => {
    stoppedBy ??= 'signal';
    stop.abort();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const view = new ProgressView(print);
  try {
    return await withUpgrade(url, opts, 'run', print, async (upgrade) => {
      let reports: MigrateReport[];
      try {
        reports = await upgrade.migrate({
          batch: opts.batch,
          rate: opts.rate,
          concurrency: opts.concurrency,
          waitMs: opts.waitMs,
          signal: stop.signal,
          onProgress: (p) => view.page(p),
        });
      } finally {
        view.stop();
      }
      for (const r of reports) {
        view.summary(
          `  ${r.resource}: pin ${r.pin.from}${r.pin.to === r.pin.from ? '' : ` → ${r.pin.to}`}; ` +
            `converted ${r.converted}; ${r.remaining} still older`,
        );
      }
      const remaining = reports.reduce((n, r) => n + r.remaining, 0);
      const cut = stop.signal.aborted && (remaining > 0 || reports.length < opts.resources.length);
      if (cut) {
        view.summary(
          `migrate run: stopped${stoppedBy === 'signal' ? '' : ` by ${stoppedBy}`} with ${remaining} record(s) still older; the checkpoint is kept: run polystore migrate run again to resume`,
        );
        return stoppedBy === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted;
      }
      if (remaining > 0) {
        view.summary(
          `migrate run: ${remaining} record(s) are still older than the code: run it again`,
        );
        return ExitCode.failure;
      }
      const status = await upgrade.status();
      view.summary(
        `migrate run: every record is at the code's version; next: ${
          status.next === 'none'
            ? 'nothing'
            : `polystore migrate ${status.next === 'migrate' ? 'run' : status.next}`
        }`,
      );
      return ExitCode.ok;
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** What `polystore migrate` needs of the program it is added to (`runCli`). */
export interface MigrateCommandHost {
  readonly print: Printer;
  readonly registry: AdapterRegistry;
  /** The store URL from `--store` or `$POLYSTORE_URL` (a usage error without one), kept for error lines. */
  storeUrl(given: string | undefined): string;
  /** Records the command's exit code. */
  exit(code: ExitCodeValue): void;
}

function integer(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return Number(value);
  };
}

interface CommonFlags {
  readonly store?: string;
  readonly adapter?: string[];
  readonly module: string[];
}

const EXIT_HELP = `
Exit codes: 0 nothing to do (status) or done, 1 unexpected error, 2 usage, 3 store unavailable,
4 the store lacks elements the code needs, 10 expand needed, 11 migrate needed,
12 contract ready, 13 blocked (status) or the phase was refused (reasons on stderr),
14 switch needed, 130/143 run stopped by SIGINT/SIGTERM (checkpoint kept).`;

/**
 * Adds `polystore migrate status|expand|run|switch|contract` to the program: the
 * operator's commands over `@polystore/migrate`. Every one takes `--store URL` and
 * `--module PATH` (repeatable), whose exported resources are the new release's definitions.
 *
 * @example
 * ```ts
 * let code: ExitCodeValue = ExitCode.ok;
 * addMigrateCommand(program, {
 *   print,
 *   registry,
 *   storeUrl: (given) => requireStoreUrl(given ?? process.env.POLYSTORE_URL),
 *   exit: (value) => {
 *     code = value;
 *   },
 * });
 * await program.parseAsync(['migrate', 'status', '--store', 'sqlite:./data.db']);
 * ```
 */
export function addMigrateCommand(program: Command, host: MigrateCommandHost): Command {
  const migrate = program
    .command('migrate')
    .description(
      'live upgrades with no downtime: expand → deploy → run → switch → (old release gone) → contract',
    )
    .addHelpText('after', EXIT_HELP);

  const sub = (name: string, description: string) =>
    migrate
      .command(name)
      .description(description)
      .addOption(
        new Option(
          '--store <url>',
          'store URL, e.g. sqlite:./data.db, postgres://host/db (default: $POLYSTORE_URL)',
        ),
      )
      .addOption(
        new Option('--module <path>', "a module exporting the new release's resources (repeatable)")
          .argParser((value: string, previous: string[]) => [...previous, value])
          .default([], 'the built-in resources'),
      )
      .addHelpText('after', EXIT_HELP);

  const inputs = async <T extends CommonFlags>(cmd: Command) => {
    const flags = cmd.optsWithGlobals<T>();
    await loadAdapters(flags.adapter ?? [], host.registry);
    const { resources } = await loadSources(flags.module);
    const url = host.storeUrl(flags.store);
    return { flags, url, base: { resources, registry: host.registry } };
  };

  sub(
    'status',
    'where each resource stands (versions, counts, elements, checkpoint, live services) and the next phase; exit 0, 10-14',
  )
    .option('--json', 'print the UpgradeStatus object as JSON (same exit code)')
    .action(async (_o, cmd: Command) => {
      const { flags, url, base } = await inputs<CommonFlags & { json?: boolean }>(cmd);
      host.exit(await migrateStatus(url, { ...base, json: flags.json === true }, host.print));
    });

  sub(
    'expand',
    'add the elements the new release needs (new fields write-only); idempotent, drops nothing',
  )
    .option('--dry-run', 'print what would be added; change nothing')
    .action(async (_o, cmd: Command) => {
      const { flags, url, base } = await inputs<CommonFlags & { dryRun?: boolean }>(cmd);
      host.exit(await migrateExpand(url, { ...base, dryRun: flags.dryRun === true }, host.print));
    });

  sub(
    'run',
    'move the pin once the fleet knows the new version, then convert every older record (resumable)',
  )
    .option('--batch <n>', 'records per page (default 500)', integer('--batch', 1, 10_000))
    .option(
      '--rate <n>',
      'at most n records converted per second (default: no limit)',
      integer('--rate', 1, 1_000_000_000),
    )
    .option(
      '--concurrency <n>',
      'records converted at once where the backend has no batched rewrite (default 8)',
      integer('--concurrency', 1, 1024),
    )
    .option(
      '--runner-lease <ms>',
      'the runner lease, renewed every page (default 10000)',
      integer('--runner-lease', 100, 3_600_000),
    )
    .option(
      '--wait <ms>',
      "how long to wait for the fleet to acknowledge the pin or another runner's lease to lapse (default: 3 leases)",
      integer('--wait', 0, 86_400_000),
    )
    .action(async (_o, cmd: Command) => {
      const { flags, url, base } = await inputs<
        CommonFlags & {
          batch?: number;
          rate?: number;
          concurrency?: number;
          runnerLease?: number;
          wait?: number;
        }
      >(cmd);
      host.exit(
        await migrateRun(
          url,
          {
            ...base,
            batch: flags.batch,
            rate: flags.rate,
            concurrency: flags.concurrency,
            runnerLeaseMs: flags.runnerLease,
            waitMs: flags.wait,
          },
          host.print,
        ),
      );
    });

  sub('switch', 'make the fields the migrate backfilled public (queryable)').action(
    async (_o, cmd: Command) => {
      const { url, base } = await inputs<CommonFlags>(cmd);
      host.exit(await migrateSwitch(url, base, host.print));
    },
  );

  sub(
    'contract',
    'drop the elements the new release no longer has; refused (13) while anything still needs them',
  )
    .option('--dry-run', 'print what would be dropped; change nothing')
    .action(async (_o, cmd: Command) => {
      const { flags, url, base } = await inputs<CommonFlags & { dryRun?: boolean }>(cmd);
      host.exit(await migrateContract(url, { ...base, dryRun: flags.dryRun === true }, host.print));
    });

  return migrate;
}
