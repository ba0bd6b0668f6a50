import {
  AdapterRegistry,
  ConfigError,
  InvalidInputError,
  PolystoreError,
  redactUrl,
  SchemaBehindError,
  UnavailableError,
} from '@polystore/core';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CliError } from './cli-error.js';
import { doctor } from './commands/doctor.js';
import { addMigrateCommand } from './commands/migrate.js';
import { loadSources, schemaCheck, schemaSnapshot } from './commands/schema.js';
import { schemaExpand, schemaMigrate, schemaStatus } from './commands/schema-store.js';
import { seed } from './commands/seed.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { loadAdapters } from './load-adapters.js';
import { Printer, type Streams } from './printer.js';
import { MAX_SEED_INSTANCES } from './seed-demo-data.js';
import { openTarget, requireStoreUrl, type StoreTarget } from './store-target.js';

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** Where output goes (default: the process's stdout and stderr). */
  readonly streams?: Streams;
  /** Environment to read `POLYSTORE_URL` from (default: `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

function integer(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return Number(value);
  };
}

function storeOption(): Option {
  return new Option(
    '--store <url>',
    'store URL, e.g. sqlite:./data.db, postgres://host/db, memory: (default: $POLYSTORE_URL)',
  );
}

/** The exit code for an error that ended a command. */
function exitCodeOf(err: unknown): ExitCodeValue {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof SchemaBehindError) return ExitCode.schemaDrift;
  if (err instanceof ConfigError || err instanceof InvalidInputError) return ExitCode.usage;
  if (err instanceof UnavailableError) return ExitCode.unavailable;
  return ExitCode.failure;
}

/**
 * Runs the `polystore` command line and resolves to its exit code; it never calls
 * `process.exit`, so it can run in tests and other programs.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(['doctor', '--store', 'memory:']);
 * ```
 */
export async function runCli(
  argv: readonly string[],
  options: RunCliOptions = {},
): Promise<number> {
  const streams = options.streams ?? { out: process.stdout, err: process.stderr };
  const env = options.env ?? process.env;
  // Every URL the user may have given, so no line printed can carry its secrets.
  const given = argv.flatMap((a, i) =>
    a === '--store' ? [argv[i + 1]] : a.startsWith('--store=') ? [a.slice('--store='.length)] : [],
  );
  const print = new Printer([...given, env.POLYSTORE_URL], streams);
  const registry = new AdapterRegistry();
  let code: ExitCodeValue = ExitCode.ok;
  // The store a command works on, named in its error messages.
  let storeUrl: string | undefined;

  const withStore = async (
    opts: { store?: string; adapter?: string[] },
    run: (target: StoreTarget) => Promise<ExitCodeValue>,
  ) => {
    await loadAdapters(opts.adapter ?? [], registry);
    storeUrl = requireStoreUrl(opts.store ?? env.POLYSTORE_URL);
    const target = await openTarget(storeUrl, registry);
    try {
      code = await run(target);
    } finally {
      await target.stores.close();
    }
  };

  const program = new Command('polystore')
    .description(
      'polystore: one store API over PostgreSQL, SQLite, Redis, ZooKeeper, MongoDB and memory',
    )
    .addOption(
      new Option(
        '--adapter <module>',
        'import a third-party adapter module and register every adapter it exports (`myKvAdapter`, `adapter`, ...); repeatable',
      )
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([], 'none'),
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => streams.out.write(print.redact(s)),
      writeErr: (s) => streams.err.write(print.redact(s)),
    })
    .showHelpAfterError('(run polystore --help for usage)')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 a check failed or unexpected error, 2 usage or configuration error, 3 store unavailable, 4 schema drift (snapshots differ, or the store lacks elements the code needs); `migrate status` also 10 expand needed, 11 migrate needed, 12 contract ready, 13 blocked, 14 switch needed; `migrate run` stopped by a signal 130 (SIGINT) or 143 (SIGTERM).',
    );

  program
    .command('doctor')
    .description(
      'connect to a store; show its backend, adapter, capabilities, and check every resource reads',
    )
    .addOption(storeOption())
    .action(async (_opts, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ store?: string; adapter?: string[] }>();
      await withStore(opts, (target) => doctor(target, print));
    });

  program
    .command('seed')
    .description('create a demo network and boot instances into it, each with an address')
    .addOption(storeOption())
    .requiredOption(
      '--instances <n>',
      `how many instances (1 to ${MAX_SEED_INSTANCES})`,
      integer('--instances', 1, MAX_SEED_INSTANCES),
    )
    .option('--project <id>', 'the project that owns the demo data', 'demo')
    .action(async (_opts, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{
        store?: string;
        adapter?: string[];
        instances: number;
        project: string;
      }>();
      await withStore(opts, (target) =>
        seed(target, { instances: opts.instances, project: opts.project }, print),
      );
    });

  program
    .command('conformance')
    .description(
      'run the conformance suite against the store, each check in a fresh namespace of it',
    )
    .addOption(storeOption())
    .option(
      '--runs <n>',
      'fast-check runs per property (default 60)',
      integer('--runs', 1, 100_000),
    )
    .option('--seed <s>', 'fixed seed, to replay a run', integer('--seed', -(2 ** 31), 2 ** 31 - 1))
    .addOption(
      new Option('--report <format>', 'report format').choices(['md', 'json']).default('md'),
    )
    .action(async (_opts, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{
        store?: string;
        adapter?: string[];
        runs?: number;
        seed?: number;
        report: 'md' | 'json';
      }>();
      const plugins = await loadAdapters(opts.adapter ?? [], registry);
      // The suite (fast-check and all) loads only for this command, so the others start fast.
      const { conformance } = await import('./commands/conformance.js');
      storeUrl = requireStoreUrl(opts.store ?? env.POLYSTORE_URL);
      code = await conformance(
        storeUrl,
        { runs: opts.runs, seed: opts.seed, report: opts.report },
        print,
        registry,
        plugins,
      );
    });

  const schema = program
    .command('schema')
    .description(
      'readable schema snapshots and the check CI runs; what a store lacks, and adding it',
    );
  for (const [name, description, run] of [
    [
      'snapshot',
      'write one JSON snapshot per resource (fields, indexes, uniques, versions, fingerprints, object wire forms)',
      schemaSnapshot,
    ],
    [
      'check',
      'compare the code with the committed snapshots; exit 4 with a field-level diff on drift',
      schemaCheck,
    ],
  ] as const) {
    schema
      .command(name)
      .description(description)
      .option(
        '--module <path>',
        'a module exporting resources and object registries (repeatable; default: the built-in resources)',
        (value: string, previous: string[]) => [...previous, value],
        [] as string[],
      )
      .option('--dir <dir>', 'the snapshot directory', 'schemas')
      .action(async (opts: { module: string[]; dir: string }) => {
        code = await run({ modules: opts.module, dir: opts.dir }, print);
      });
  }

  const moduleOption = () =>
    new Option(
      '--module <path>',
      'a module exporting resources and object registries (repeatable; default: the built-in resources)',
    )
      .argParser((value: string, previous: string[]) => [...previous, value])
      .default([], 'none');
  for (const [name, description, run] of [
    [
      'status',
      "compare the store's recorded elements with what the code needs; exit 4 when it lacks some",
      schemaStatus,
    ],
    [
      'expand',
      'add the fields, indexes and unique constraints the code needs and the store lacks (idempotent, drops nothing)',
      schemaExpand,
    ],
    [
      'migrate',
      "rewrite older records at the code's version, then make the fields they lacked queryable",
      schemaMigrate,
    ],
  ] as const) {
    const command = schema
      .command(name)
      .description(description)
      .addOption(storeOption())
      .addOption(moduleOption());
    if (name === 'expand') command.option('--dry-run', 'print what would be added; change nothing');
    command.action(async (_opts, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{
        store?: string;
        adapter?: string[];
        module: string[];
        dryRun?: boolean;
      }>();
      await loadAdapters(opts.adapter ?? [], registry);
      const { resources } = await loadSources(opts.module);
      storeUrl = requireStoreUrl(opts.store ?? env.POLYSTORE_URL);
      code = await run(storeUrl, { resources, dryRun: opts.dryRun === true }, print, registry);
    });
  }

  addMigrateCommand(program, {
    print,
    registry,
    storeUrl: (given) => {
      storeUrl = requireStoreUrl(given ?? env.POLYSTORE_URL);
      return storeUrl;
    },
    exit: (value) => {
      code = value;
    },
  });

  program
    .command('serve')
    .description(
      'expose the store over HTTP(S) to http(s):// clients (the conductor), with bearer tokens',
    )
    .addOption(storeOption())
    .option(
      '--listen <host:port>',
      'address to listen on (port 0 picks a free one)',
      '127.0.0.1:8420',
    )
    .requiredOption('--tokens <file>', 'JSON token file mapping bearer tokens to identities')
    .option('--tls-key <file>', 'PEM private key (with --tls-cert: HTTPS only)')
    .option('--tls-cert <file>', 'PEM certificate (with --tls-key)')
    .option(
      '--max-body-bytes <n>',
      'largest request body (default: twice the store record limit + 64 KiB)',
      integer('--max-body-bytes', 1024, 2 ** 31 - 1),
    )
    .option('--rate-limit <n>', 'calls per second per token', integer('--rate-limit', 1, 1_000_000))
    .action(async (_opts, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{
        store?: string;
        adapter?: string[];
        listen: string;
        tokens: string;
        tlsKey?: string;
        tlsCert?: string;
        maxBodyBytes?: number;
        rateLimit?: number;
      }>();
      await loadAdapters(opts.adapter ?? [], registry);
      const { serve } = await import('./commands/serve.js');
      storeUrl = requireStoreUrl(opts.store ?? env.POLYSTORE_URL);
      code = await serve(storeUrl, opts, print, registry);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed the message (through configureOutput).
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const message =
      err instanceof PolystoreError || err instanceof CliError
        ? err.message
        : `unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    print.err(`polystore: ${storeUrl === undefined ? '' : `${redactUrl(storeUrl)}: `}${message}`);
    return exitCodeOf(err);
  }
}
