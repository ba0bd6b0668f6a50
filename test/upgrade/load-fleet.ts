/**
 * Starting and stopping the load clients of `live-upgrade.test.ts`: as worker processes
 * (`test/upgrade-load-worker.ts`, one fleet member each) on a store several processes
 * share, or inside the test process for `memory:`; and waiting on them by polling their
 * call logs, with deadlines instead of sleeps.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogTail, type Release } from './call-log.js';
import { runLoadClient } from './load-client.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');

/** The arguments of a load client (a worker's command line, or an in-process client's options). */
export interface LoadWorkerArgs {
  readonly url: string;
  readonly release: Release;
  readonly client: string;
  readonly log: string;
  /** The worker stops once this file exists. */
  readonly stopFile: string;
  /** A JSON file holding the array of shared record ids. */
  readonly shared: string;
  readonly seed: number;
  readonly heartbeatMs: number;
  readonly leaseMs: number;
  /** Most calls per second. */
  readonly rate: number;
  /** Most creates. */
  readonly maxCreates: number;
  /** Load the code, then wait for a line on stdin before joining (a worker's `--wait-for-go`). */
  readonly waitForGo?: boolean;
}

/** The argv `upgrade-load-worker.ts` takes for these arguments. */
export function workerArgs(args: LoadWorkerArgs): string[] {
  return [
    ['--url', args.url],
    ['--release', args.release],
    ['--client', args.client],
    ['--log', args.log],
    ['--stop-file', args.stopFile],
    ['--shared', args.shared],
    ['--seed', String(args.seed)],
    ['--heartbeat-ms', String(args.heartbeatMs)],
    ['--lease-ms', String(args.leaseMs)],
    ['--rate', String(args.rate)],
    ['--max-creates', String(args.maxCreates)],
    args.waitForGo ? ['--wait-for-go'] : [],
  ].flat();
}

/** A load client, in a worker process or in this process: started by {@link LoadClient.go}. */
export interface LoadClient {
  readonly client: string;
  readonly release: Release;
  /** Its call log. */
  readonly log: string;
  /** Starts its calls: it joins the fleet, then calls until stopped. */
  go(): void;
  /** Calls logged so far. */
  calls(): number;
  /** Whether it has joined the fleet (its `joined` event is logged). */
  joined(): boolean;
  /** Why it ended on its own (a worker exited, a client threw), if it did. */
  failure(): string | undefined;
  /** Stops it and waits until it left the fleet; rejects if it did not end cleanly. */
  stop(): Promise<void>;
  /** Ends it at once, if it still runs (clean-up after a failed test). */
  kill(): void;
}

/** How long a client may take to leave the fleet and exit once told to stop. */
const STOP_DEADLINE_MS = 30_000;

/**
 * Spawns a load client in a worker process of its own. It loads its code and waits for
 * {@link LoadClient.go}, so a test can spawn its workers early, off its critical path.
 */
export function spawnLoadWorker(args: LoadWorkerArgs): LoadClient {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      join(repoRoot, 'test', 'upgrade-load-worker.ts'),
      ...workerArgs({ ...args, waitForGo: true }),
    ],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.stdout?.resume();
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let stopping = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
  });
  const tail = new LogTail(args.log);
  const describeExit = () =>
    `load worker ${args.client} exited (code ${exit?.code}, signal ${exit?.signal}): ${stderr.trim() || 'no stderr'}`;
  return {
    client: args.client,
    release: args.release,
    log: args.log,
    go: () => {
      child.stdin?.end('go\n');
    },
    calls: () => tail.calls(),
    joined: () => tail.events().some((e) => e.event === 'joined'),
    failure: () => (exit !== undefined && !stopping ? describeExit() : undefined),
    async stop() {
      stopping = true;
      if (exit === undefined) {
        writeFileSync(args.stopFile, '');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
        await exited;
        clearTimeout(timer);
      }
      if (exit?.code !== 0) throw new Error(describeExit());
    },
    kill() {
      stopping = true;
      if (exit === undefined && child.pid !== undefined) child.kill('SIGKILL');
    },
  };
}

/**
 * A load client inside this process (for `memory:`, whose database other processes cannot
 * reach); once started it runs concurrently with the test on the event loop.
 */
export function inProcessClient(args: LoadWorkerArgs, shared: readonly string[]): LoadClient {
  const stop = new AbortController();
  let failed: string | undefined;
  let stopping = false;
  let done: Promise<void> | undefined;
  const tail = new LogTail(args.log);
  return {
    client: args.client,
    release: args.release,
    log: args.log,
    go() {
      done ??= runLoadClient({
        target: args.url,
        release: args.release,
        client: args.client,
        shared,
        log: args.log,
        seed: args.seed,
        heartbeatMs: args.heartbeatMs,
        leaseMs: args.leaseMs,
        maxCallsPerSecond: args.rate,
        maxCreates: args.maxCreates,
        signal: stop.signal,
      }).then(
        () => {
          if (!stopping) failed = `load client ${args.client} ended before it was told to stop`;
        },
        (err: unknown) => {
          failed = `load client ${args.client} failed: ${(err as Error).stack ?? String(err)}`;
        },
      );
    },
    calls: () => tail.calls(),
    joined: () => tail.events().some((e) => e.event === 'joined'),
    failure: () => failed,
    async stop() {
      stopping = true;
      stop.abort();
      await done;
      if (failed !== undefined) throw new Error(failed);
    },
    kill() {
      stopping = true;
      stop.abort();
    },
  };
}

/** How often {@link waitUntil} looks again. */
const POLL_MS = 50;

/**
 * Polls `done` until it holds; fails at the deadline saying what it waited for, or at once
 * when one of `clients` ended on its own.
 */
export async function waitUntil(
  what: string,
  done: () => boolean | Promise<boolean>,
  clients: readonly LoadClient[],
  deadlineMs: number,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    for (const c of clients) {
      const failure = c.failure();
      if (failure !== undefined) throw new Error(`while waiting for ${what}: ${failure}`);
    }
    if (await done()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Waits until every client in `clients` has logged at least `more` calls beyond the
 * counts in `from` (a snapshot taken with {@link callCounts}), so the load overlaps a phase.
 */
export async function waitForCalls(
  clients: readonly LoadClient[],
  more: number,
  deadlineMs: number,
  from: ReadonlyMap<LoadClient, number> = new Map(),
): Promise<void> {
  await waitUntil(
    `${more} more calls from ${clients.map((c) => c.client).join(', ')}`,
    () => clients.every((c) => c.calls() >= (from.get(c) ?? 0) + more),
    clients,
    deadlineMs,
  );
}

/** The number of calls each client has logged so far. */
export function callCounts(clients: readonly LoadClient[]): Map<LoadClient, number> {
  return new Map(clients.map((c) => [c, c.calls()]));
}
