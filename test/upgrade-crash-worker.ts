/**
 * One migrate process of `upgrade-crash.test.ts`, there to be killed. It opens the engine
 * on the store its first argument names (code at `widgetM`), prints `ready`, and waits for
 * one JSON line on stdin (`{ batch, waitMs }`). Then it prints who holds the runner lease
 * (`start`), runs `migrate` printing one `progress` line per page, and prints `done` with
 * the reports. The parent SIGKILLs it at a random moment; the next worker resumes.
 * Run with `node --conditions=source --import tsx test/upgrade-crash-worker.ts <url> <leaseMs> [<adapter options JSON>]`.
 */
import { createInterface } from 'node:readline';
import { type MigrateReport, openUpgrade } from '@polystore/migrate';
import { widgetM } from '@polystore/testing/upgrade-fixtures';

/** What the parent sends once the worker is ready. */
export interface CrashGo {
  /** Records per migrate page. */
  readonly batch: number;
  /** How long migrate waits for the killed runner's lease to lapse, ms. */
  readonly waitMs: number;
}

/** One line the worker prints. */
export type CrashLine =
  | { readonly event: 'ready'; readonly runner: string }
  | {
      readonly event: 'start';
      /** The runner lease as the store had it before this run took it (`null`: free). */
      readonly heldBy: { readonly id: string; readonly until: string } | null;
      /** This worker's clock just before it read the lease, ms since the epoch. */
      readonly at: number;
    }
  | {
      readonly event: 'progress';
      readonly done: number;
      readonly found: number;
      /** This worker's clock, ms since the epoch. */
      readonly at: number;
    }
  | { readonly event: 'done'; readonly reports: readonly MigrateReport[] }
  | { readonly event: 'error'; readonly message: string };

function say(line: CrashLine): void {
  // Pipes are written synchronously on Linux, so a line printed is a line the parent gets,
  // even when SIGKILL follows at once.
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const [url, leaseMs, adapter = '{}'] = process.argv.slice(2);
  if (url === undefined || leaseMs === undefined)
    throw new Error(
      'usage: upgrade-crash-worker.ts <url> <runnerLeaseMs> [<adapter options JSON>]',
    );
  const runner = `crash-worker-${process.pid}`;
  const upgrade = await openUpgrade(url, {
    resources: [widgetM],
    runner,
    runnerLeaseMs: Number(leaseMs),
    adapter: JSON.parse(adapter) as Record<string, unknown>,
  });
  try {
    say({ event: 'ready', runner });
    const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) return;
    const go = JSON.parse(first.value) as CrashGo;
    const at = Date.now();
    const status = await upgrade.status();
    say({ event: 'start', heldBy: status.resources[0]?.runner ?? null, at });
    const reports = await upgrade.migrate({
      batch: go.batch,
      waitMs: go.waitMs,
      onProgress: (p) => say({ event: 'progress', done: p.done, found: p.found, at: Date.now() }),
    });
    say({ event: 'done', reports });
  } finally {
    await upgrade.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    say({ event: 'error', message: `${(err as Error).name}: ${(err as Error).message}` });
    process.stderr.write(`upgrade crash worker failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
