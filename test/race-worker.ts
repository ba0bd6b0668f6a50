/**
 * One OS process of `multi-process-race.test.ts`. It runs the tasks its parent sends, one
 * JSON line on stdin each (open its own `Stores` on a URL, a scenario, close them), and
 * answers each with one JSON line on stdout. Waiting for every process to answer before
 * sending the next task is the barrier between scenarios, so no sleeps are needed. One
 * process serves every backend in turn, so its start-up is paid once.
 * Run with `node --conditions=source --import tsx test/race-worker.ts <index>`.
 */
import { createInterface } from 'node:readline';
import {
  adminContext,
  ConflictError,
  createContext,
  DuplicateError,
  NotFoundError,
  openStores,
  type Stores,
} from '@polystore/core';

/** A scenario as the parent sends it. */
export type RaceTask =
  | { readonly op: 'open'; readonly url: string }
  | { readonly op: 'close' }
  | { readonly op: 'casRevision'; readonly id: string; readonly n: number }
  | { readonly op: 'casExpected'; readonly id: string; readonly n: number }
  | { readonly op: 'allocate'; readonly networkId: string; readonly n: number }
  | { readonly op: 'uniqueCreate'; readonly vlans: readonly number[] }
  | { readonly op: 'deleteOnce'; readonly ids: readonly string[] }
  | { readonly op: 'releaseOnce'; readonly ids: readonly string[] }
  | { readonly op: 'heartbeat'; readonly host: string; readonly n: number }
  | { readonly op: 'deleteRace'; readonly ids: readonly string[]; readonly deleter: boolean }
  | { readonly op: 'exit' };

/** What a worker reports for one scenario. */
export interface RaceReport {
  /** Revisions (or values) this process was told it wrote, one per acknowledged write. */
  readonly acked?: readonly (number | string)[];
  /** Conflicts met on the way (for the figures). */
  readonly conflicts?: number;
  /** For `deleteRace`: updates acknowledged after this process was told the record was gone. */
  readonly updatesAfterNotFound?: number;
  /** For `deleteRace`: updates acknowledged per record id. */
  readonly updatesById?: Readonly<Record<string, number>>;
  /** For `deleteRace` (deleter only): the ids whose delete was acknowledged. */
  readonly deleted?: readonly string[];
  /** For `deleteRace`: ids this process could still update {@link MAX_WAIT_MS} after it began. */
  readonly neverGone?: readonly string[];
  /** A failure that is not part of the expected race (the parent fails the test on it). */
  readonly error?: string;
}

const ctx = createContext({ projectId: 'race' });
/** Writes after a `NotFoundError` that probe whether the record comes back. */
const PROBES_AFTER_NOT_FOUND = 3;
/**
 * How long a process of `deleteRace` keeps updating one record while it waits for the
 * delete. A bound in time, not in updates: on a busy machine the deleting process may start
 * late, and 200 quick SQLite updates (~20 ms) once let a writer run ahead of the deleter on
 * every record. An undone delete leaves the record live for ever, so any bound finds it.
 */
const MAX_WAIT_MS = 30_000;

async function casRevision(stores: Stores, id: string, n: number): Promise<RaceReport> {
  const acked: number[] = [];
  let conflicts = 0;
  while (acked.length < n) {
    const cur = await stores.instances.get(ctx, id);
    try {
      const next = await stores.instances.update(
        ctx,
        id,
        { displayName: String(Number(cur.displayName) + 1) },
        { expectedRevision: cur.revision },
      );
      acked.push(next.revision);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      conflicts++;
    }
  }
  return { acked, conflicts };
}

async function casExpected(stores: Stores, id: string, n: number): Promise<RaceReport> {
  const acked: string[] = [];
  let conflicts = 0;
  while (acked.length < n) {
    const cur = await stores.instances.get(ctx, id);
    const value = String(Number(cur.host) + 1);
    try {
      await stores.instances.update(ctx, id, { host: value }, { expected: { host: [cur.host] } });
      acked.push(value);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      conflicts++;
    }
  }
  return { acked, conflicts };
}

async function allocate(stores: Stores, networkId: string, n: number): Promise<RaceReport> {
  const acked: string[] = [];
  for (let i = 0; i < n; i++) {
    const ip = await stores.fixedIps.allocate(ctx, { networkId, instanceId: null });
    acked.push(ip.address);
  }
  return { acked };
}

async function uniqueCreate(stores: Stores, vlans: readonly number[]): Promise<RaceReport> {
  const acked: number[] = [];
  let conflicts = 0;
  for (const vlan of vlans) {
    try {
      await stores.networks.create(ctx, { label: `v${vlan}`, cidr: '10.9.0.0/24', vlan });
      acked.push(vlan);
    } catch (err) {
      if (!(err instanceof DuplicateError)) throw err;
      conflicts++;
    }
  }
  return { acked, conflicts };
}

async function deleteOnce(stores: Stores, ids: readonly string[]): Promise<RaceReport> {
  const acked: string[] = [];
  for (const id of ids) {
    try {
      await stores.instances.delete(ctx, id);
      acked.push(id);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  return { acked };
}

async function releaseOnce(stores: Stores, ids: readonly string[]): Promise<RaceReport> {
  const acked: string[] = [];
  for (const id of ids) {
    try {
      await stores.fixedIps.release(ctx, id);
      acked.push(id);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  return { acked };
}

/** Heartbeats of one `(host, binary)`: an upsert, a read and then a create or a revision-checked update. */
async function heartbeat(stores: Stores, host: string, n: number): Promise<RaceReport> {
  const acked: number[] = [];
  for (let i = 0; i < n; i++) {
    const service = await stores.services.heartbeat(adminContext(), {
      host,
      binary: 'race',
      codeVersion: 1,
    });
    acked.push(service.revision);
  }
  return { acked };
}

/**
 * Updates every record until told it is gone, then probes a few more times: an update
 * acknowledged after that is a delete undone (or an update lost under the delete). The
 * deleter updates each record once and then deletes it.
 */
async function deleteRace(
  stores: Stores,
  ids: readonly string[],
  deleter: boolean,
): Promise<RaceReport> {
  const updatesById: Record<string, number> = {};
  const deleted: string[] = [];
  const neverGone: string[] = [];
  let updatesAfterNotFound = 0;
  const update = async (id: string, i: number): Promise<boolean> => {
    try {
      await stores.instances.update(ctx, id, { displayName: `w${process.argv[2]}-${i}` });
      updatesById[id] = (updatesById[id] ?? 0) + 1;
      return true;
    } catch (err) {
      if (!(err instanceof NotFoundError || err instanceof ConflictError)) throw err;
      return !(err instanceof NotFoundError);
    }
  };
  // One record after the other: every process works on the same record at a time.
  for (const id of ids) {
    if (deleter) {
      await update(id, 0);
      try {
        await stores.instances.delete(ctx, id);
        deleted.push(id);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    } else {
      // Keep writing until the record is reported gone; a delete that was undone would
      // leave the record live for ever, hence the bound.
      const until = Date.now() + MAX_WAIT_MS;
      let gone = false;
      for (let i = 0; !gone && Date.now() <= until; i++) gone = !(await update(id, i));
      if (!gone) {
        neverGone.push(id);
        continue; // never told it is gone: nothing to probe after
      }
    }
    for (let p = 0; p < PROBES_AFTER_NOT_FOUND; p++) {
      if (await update(id, -1 - p)) updatesAfterNotFound++;
    }
  }
  return { updatesById, deleted, updatesAfterNotFound, neverGone };
}

async function run(stores: Stores, task: RaceTask): Promise<RaceReport> {
  switch (task.op) {
    case 'casRevision':
      return casRevision(stores, task.id, task.n);
    case 'casExpected':
      return casExpected(stores, task.id, task.n);
    case 'allocate':
      return allocate(stores, task.networkId, task.n);
    case 'uniqueCreate':
      return uniqueCreate(stores, task.vlans);
    case 'deleteOnce':
      return deleteOnce(stores, task.ids);
    case 'releaseOnce':
      return releaseOnce(stores, task.ids);
    case 'heartbeat':
      return heartbeat(stores, task.host, task.n);
    case 'deleteRace':
      return deleteRace(stores, task.ids, task.deleter);
    default:
      throw new Error(`task ${task.op} needs no stores`);
  }
}

async function main(): Promise<void> {
  let stores: Stores | undefined;
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    const task = JSON.parse(line) as RaceTask;
    if (task.op === 'exit') break;
    let report: RaceReport = {};
    try {
      if (task.op === 'open') {
        await stores?.close();
        stores = await openStores(task.url);
      } else if (task.op === 'close') {
        await stores?.close();
        stores = undefined;
      } else if (stores === undefined) {
        throw new Error(`${task.op} before open`);
      } else {
        report = await run(stores, task);
      }
    } catch (err) {
      report = { error: `${(err as Error).name}: ${(err as Error).message}` };
    }
    process.stdout.write(`${JSON.stringify(report)}\n`);
  }
  await stores?.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`race worker failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
