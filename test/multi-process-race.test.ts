/**
 * Eight OS processes race on the same records of one store, on every backend that can be
 * shared between processes: revision-checked and expected-value increments of one record
 * (no acknowledged increment lost), address allocation (no address handed out twice),
 * creates of one unique value (exactly one winner), concurrent deletes and releases (each
 * acknowledged once), heartbeats of one service (an upsert: one record, no heartbeat
 * written over) and a delete racing updates (an acknowledged delete stays, and no process has an
 * update acknowledged after it was told the record is gone).
 *
 * `memory:` is left out: its database lives inside one process, so several processes
 * cannot share it (each would race only with itself).
 *
 * The workers are real processes (`race-worker.ts`), each with its own `Stores` and
 * connections, so in-process serialisation (Mongo's `serializeWrites`) cannot hide a race.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { adminContext, createContext, openStores, type Stores } from '@polystore/core';
import { freshStoreUrl, STORE_BACKENDS, type StoreBackend } from '@polystore/testing/vitest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RaceReport, RaceTask } from './race-worker.ts';

const PROCESSES = 8;
/**
 * Multiplies the counts below, for a longer soak run outside CI:
 * `POLYSTORE_RACE_SCALE=8 npx vitest run --project cross-package test/multi-process-race.test.ts`.
 */
const SCALE = scale(process.env.POLYSTORE_RACE_SCALE);
/** Acknowledged increments each process makes, per kind of CAS. */
const INCREMENTS = 25 * SCALE;
/** Addresses each process allocates (8 × 10 × scale must fit the /16 below). */
const ALLOCATIONS = 10 * SCALE;
/** Unique values every process tries to create. */
const UNIQUE_VALUES = 10 * SCALE;
/** Records every process tries to delete; fixed IPs every process tries to release. */
const RECORDS = 10 * SCALE;
/** Heartbeats each process sends for one shared service. */
const HEARTBEATS = 5 * SCALE;
/**
 * Records one process deletes while the others update them: fewer, since each lasts until
 * the deleter wins one of the writes (7 processes write it meanwhile).
 */
const CONTESTED_RECORDS = 5 * SCALE;

function scale(raw: string | undefined): number {
  if (raw === undefined) return 1;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1 || n > 100)
    throw new Error(`POLYSTORE_RACE_SCALE must be an integer from 1 to 100, not ${raw}`);
  return n;
}

const here = dirname(fileURLToPath(import.meta.url));
const ctx = createContext({ projectId: 'race' });
const admin = createContext({ projectId: 'race', readDeleted: 'yes' });

/** One worker process, spoken to in JSON lines. */
class Worker {
  readonly #child: ChildProcess;
  readonly #lines: AsyncIterator<string>;
  #stderr = '';

  constructor(index: number) {
    this.#child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', join(here, 'race-worker.ts'), String(index)],
      { cwd: join(here, '..'), stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.#lines = createInterface({ input: this.#child.stdout! })[Symbol.asyncIterator]();
  }

  /** The next line of the worker, parsed; fails with the worker's stderr if it exited. */
  async next<T>(): Promise<T> {
    const { value, done } = await this.#lines.next();
    if (done) throw new Error(`race worker exited: ${this.#stderr.slice(-2000)}`);
    return JSON.parse(value) as T;
  }

  /** Sends a scenario and returns the worker's report. */
  async run(task: RaceTask): Promise<RaceReport> {
    this.#child.stdin!.write(`${JSON.stringify(task)}\n`);
    const report = await this.next<RaceReport>();
    if (report.error) throw new Error(`race worker: ${report.error}`);
    return report;
  }

  /** Asks the worker to close its stores and exit; kills it if it does not within the deadline. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.stdin!.end(`${JSON.stringify({ op: 'exit' })}\n`);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Runs one scenario in every worker at once (one task per worker) and notes how long it
 * took in `figures.seconds<Scenario>`.
 */
async function all(
  workers: readonly Worker[],
  figures: Record<string, unknown>,
  task: (i: number) => RaceTask,
): Promise<RaceReport[]> {
  const t0 = Date.now();
  // Every worker answers before anything else is sent, so the lines stay paired.
  const settled = await Promise.allSettled(workers.map((w, i) => w.run(task(i))));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const reports = settled.map((r) => (r as PromiseFulfilledResult<RaceReport>).value);
  const op = task(0).op;
  figures[`seconds${op[0]!.toUpperCase()}${op.slice(1)}`] = (Date.now() - t0) / 1000;
  return reports;
}

/** How many values occur more than once. */
function repeats(values: readonly (string | number)[]): number {
  return values.length - new Set(values).size;
}

/** The backends whose store several processes can share (every one but memory). */
const SHARED_BACKENDS = STORE_BACKENDS.filter(
  (b): b is Exclude<StoreBackend, 'memory'> => b !== 'memory',
);

// The same processes serve every backend in turn (their start-up is most of the cost).
let workers: Worker[] = [];
let stores: Stores | undefined;
beforeAll(async () => {
  workers = Array.from({ length: PROCESSES }, (_, i) => new Worker(i));
  await Promise.all(workers.map((w) => w.next()));
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
});
afterEach(async () => {
  await stores?.close();
  stores = undefined;
});

describe(`${PROCESSES} processes racing on one store`, () => {
  for (const backend of SHARED_BACKENDS) {
    it(`loses nothing and doubles nothing on ${backend}`, {
      timeout: 180_000 * SCALE,
    }, async () => {
      const started = Date.now();
      // Filled in as the scenarios run and printed even when one fails, for the figures.
      const figures: Record<string, unknown> = { backend, processes: PROCESSES };
      try {
        await race(backend, figures);
      } finally {
        figures.seconds = (Date.now() - started) / 1000;
        console.log(`multi-process race: ${JSON.stringify(figures)}`);
      }
    });
  }
});

async function race(backend: StoreBackend, figures: Record<string, unknown>): Promise<void> {
  const url = await freshStoreUrl(backend, 'race');
  // The parent opens first, so a backend that lays out a brand-new store does it once.
  stores = await openStores(url);
  const s = stores;
  await all(workers, figures, () => ({ op: 'open', url }));
  try {
    await scenarios(s, figures);
  } finally {
    await all(workers, figures, () => ({ op: 'close' }));
  }
}

async function scenarios(s: Stores, figures: Record<string, unknown>): Promise<void> {
  // Compare-and-set by revision: every acknowledged increment is in the final value.
  const byRevision = await s.instances.create(ctx, {
    displayName: '0',
    flavor: { vcpus: 1, memoryMb: 1, rootGb: 0 },
  });
  const revReports = await all(workers, figures, () => ({
    op: 'casRevision',
    id: byRevision.id,
    n: INCREMENTS,
  }));
  const revAcked = revReports.flatMap((r) => r.acked ?? []);
  const afterRev = await s.instances.get(ctx, byRevision.id);
  const lostByRevision = revAcked.length - Number(afterRev.displayName);
  Object.assign(figures, {
    incrementsEach: INCREMENTS,
    lostByRevision,
    revisionsAckedTwice: repeats(revAcked),
  });

  // Compare-and-set by expected value.
  const byValue = await s.instances.create(ctx, {
    host: '0',
    flavor: { vcpus: 1, memoryMb: 1, rootGb: 0 },
  });
  const valueReports = await all(workers, figures, () => ({
    op: 'casExpected',
    id: byValue.id,
    n: INCREMENTS,
  }));
  const valueAcked = valueReports.flatMap((r) => r.acked ?? []);
  const afterValue = await s.instances.get(ctx, byValue.id);
  const lostByValue = valueAcked.length - Number(afterValue.host);
  figures.lostByValue = lostByValue;

  // Allocation: no address handed out twice, every acknowledged one stored.
  const net = await s.networks.create(ctx, { label: 'race', cidr: '10.8.0.0/16' });
  const allocReports = await all(workers, figures, () => ({
    op: 'allocate',
    networkId: net.id,
    n: ALLOCATIONS,
  }));
  const allocated = allocReports.flatMap((r) => r.acked ?? []);
  const storedAddresses: string[] = [];
  for (let after: string | undefined; ; ) {
    const page = await s.fixedIps.list(ctx, { where: { networkId: net.id }, limit: 500, after });
    storedAddresses.push(...page.items.map((ip) => ip.address));
    if (!page.next) break;
    after = page.next;
  }
  const doubleAllocations = repeats(allocated) + repeats(storedAddresses);
  figures.doubleAllocations = doubleAllocations;

  // Unique create: exactly one winner per value.
  const vlans = Array.from({ length: UNIQUE_VALUES }, (_, i) => 100 + i);
  const uniqueReports = await all(workers, figures, () => ({ op: 'uniqueCreate', vlans }));
  const winners = uniqueReports.flatMap((r) => r.acked ?? []);
  const liveVlans = await Promise.all(vlans.map((vlan) => s.networks.count(ctx, { vlan })));
  const duplicateWinners = winners.length - vlans.length + repeats(winners);
  figures.duplicateUniqueWinners = duplicateWinners;

  // Concurrent deletes: each record deleted once.
  const doomed = await Promise.all(
    Array.from({ length: RECORDS }, () =>
      s.instances.create(ctx, { flavor: { vcpus: 1, memoryMb: 1, rootGb: 0 } }),
    ),
  );
  const deleteReports = await all(workers, figures, () => ({
    op: 'deleteOnce',
    ids: doomed.map((r) => r.id),
  }));
  const deletes = deleteReports.flatMap((r) => r.acked ?? []);
  const doubleDeletes = deletes.length - new Set(deletes).size;
  figures.deletesAckedTwice = doubleDeletes;

  // Concurrent releases of fixed IPs (a hard delete): each released once.
  const releasable = await Promise.all(
    Array.from({ length: RECORDS }, () =>
      s.fixedIps.allocate(ctx, { networkId: net.id, instanceId: null }),
    ),
  );
  const releaseReports = await all(workers, figures, () => ({
    op: 'releaseOnce',
    ids: releasable.map((ip) => ip.id),
  }));
  const releases = releaseReports.flatMap((r) => r.acked ?? []);
  figures.releasesAckedTwice = repeats(releases);
  const stillAllocated = await s.fixedIps.getMany(
    ctx,
    releasable.map((ip) => ip.id),
  );

  // Heartbeats of one service (an upsert): one record, every heartbeat a revision of it.
  const heartbeatReports = await all(workers, figures, () => ({
    op: 'heartbeat',
    host: 'race-host',
    n: HEARTBEATS,
  }));
  const beats = heartbeatReports.flatMap((r) => r.acked ?? []);
  const services = await s.services.list(adminContext(), { where: { host: 'race-host' } });
  const lostHeartbeats = beats.length - (services.items[0]?.revision ?? 0);
  figures.lostHeartbeats = lostHeartbeats;

  // One process deletes while the others update: the delete stays, nothing is
  // acknowledged to a process after it was told the record is gone, no update is lost.
  const contested = await Promise.all(
    Array.from({ length: CONTESTED_RECORDS }, () =>
      s.instances.create(ctx, { flavor: { vcpus: 1, memoryMb: 1, rootGb: 0 } }),
    ),
  );
  const raceReports = await all(workers, figures, (i) => ({
    op: 'deleteRace',
    ids: contested.map((r) => r.id),
    deleter: i === 0,
  }));
  const acknowledgedDeletes = raceReports[0]?.deleted ?? [];
  const finals = await s.instances.getMany(
    admin,
    contested.map((r) => r.id),
  );
  const deletesUndone = acknowledgedDeletes.filter(
    (id) => finals.find((r) => r.id === id)?.deletedAt === null,
  ).length;
  const updatesAfterNotFound = raceReports.reduce((n, r) => n + (r.updatesAfterNotFound ?? 0), 0);
  const neverGone = raceReports.flatMap((r) => r.neverGone ?? []).length;
  // Revision 1 at create, +1 per acknowledged update, +1 for the delete.
  const lostUnderDelete = finals.reduce((n, rec) => {
    const updates = raceReports.reduce((m, r) => m + (r.updatesById?.[rec.id] ?? 0), 0);
    return n + Math.abs(1 + updates + 1 - rec.revision);
  }, 0);

  Object.assign(figures, { deletesUndone, updatesAfterNotFound, neverGone, lostUnderDelete });

  expect(revAcked).toHaveLength(PROCESSES * INCREMENTS);
  expect(lostByRevision).toBe(0);
  expect(repeats(revAcked)).toBe(0);
  expect(afterRev.revision).toBe(1 + PROCESSES * INCREMENTS);
  expect(lostByValue).toBe(0);
  expect(afterValue.revision).toBe(1 + PROCESSES * INCREMENTS);
  expect(allocated).toHaveLength(PROCESSES * ALLOCATIONS);
  expect(storedAddresses).toHaveLength(PROCESSES * ALLOCATIONS);
  expect(doubleAllocations).toBe(0);
  expect(duplicateWinners).toBe(0);
  expect(liveVlans).toEqual(vlans.map(() => 1));
  expect(doubleDeletes).toBe(0);
  expect(releases).toHaveLength(RECORDS);
  expect(repeats(releases)).toBe(0);
  expect(stillAllocated).toEqual([]);
  expect(services.items).toHaveLength(1);
  expect(beats).toHaveLength(PROCESSES * HEARTBEATS);
  expect(repeats(beats)).toBe(0);
  expect(lostHeartbeats).toBe(0);
  expect(new Set(deletes).size).toBe(RECORDS);
  expect(acknowledgedDeletes).toHaveLength(CONTESTED_RECORDS);
  expect(deletesUndone).toBe(0);
  expect(updatesAfterNotFound).toBe(0);
  expect(neverGone).toBe(0);
  expect(lostUnderDelete).toBe(0);
}
