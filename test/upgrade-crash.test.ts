/**
 * Crash tests of `migrate` (issue 16, item 5): a store seeded at widget 1.0 is expanded to
 * 1.1, and the migrate process (`upgrade-crash-worker.ts`, a real OS process) is killed with
 * SIGKILL at random moments, at least {@link MIN_KILLS} times per backend; a new process
 * resumes each time, taking over the dead runner's lease, until one run completes. The end
 * state must be the one a run that was never killed leaves: every record at 1.1, each
 * record's fields its seeded value converted by widget 1.1's history, each record rewritten
 * exactly once (revision = seeded revision + 1: a record converted twice would show + 2),
 * the checkpoint gone, `status().next` = `switch`; after `switch`, queries on `color` agree
 * with what the records hold.
 *
 * Meanwhile a service at release 1.1 (a fleet member in the test process) writes: it updates
 * a few seeded records and creates new ones, at the pin 1.0 until the first migrate moves
 * it, at 1.1 after. Those records must end as written (a seeded record updated at the moved
 * pin is converted by that update, so migrate leaves it: its revision is seeded + updates,
 * or + 1 when migrate converted it first).
 *
 * Kill moments: after a random number of progress lines (0 to {@link MAX_PAGES_PER_RUN}:
 * a line is printed once a page is rewritten and its checkpoint saved) plus a random delay
 * (0 to {@link MAX_KILL_DELAY_MS} ms), so a kill lands between pages, inside a page's
 * rewrite, inside a checkpoint write, or before the first page (while the runner waits for
 * the lease or moves the pin). The seed is printed; replay with
 * `POLYSTORE_CRASH_SEED=<seed> npx vitest run --project cross-package test/upgrade-crash.test.ts`.
 *
 * Workers are spawned {@link AHEAD} runs ahead (spawning node + tsx takes seconds on a
 * loaded machine) and the next one is told to go the moment its predecessor is dead. When
 * the next one is not ready yet at the kill moment, the running worker is frozen there
 * (SIGSTOP) until it is, then killed: the kill point stays where it was drawn, however slow
 * the spawn. A worker whose lease is still in force when its successor starts is taken over
 * (the successor waits for it to lapse); every {@link LONG_LEASE_EVERY}th worker holds a
 * long lease ({@link LONG_LEASE_MS}), so a takeover of a live lease happens on every backend
 * whatever the machine's load, while the short lease of the others keeps the run short.
 *
 * `memory:` lives inside one process, so it cannot be killed apart from the test: there the
 * migrate is interrupted with its `AbortSignal` after a random number of pages (at least
 * {@link MIN_KILLS} interruptions), and a new engine resumes from the checkpoint. That covers
 * resuming, not a lost lease (an aborted run releases its lease).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  ConflictError,
  createContext,
  FencedError,
  openStores,
  type RequestContext,
  type Stores,
  UnavailableError,
} from '@polystore/core';
import { readAtCodeVersion, type StoredRecord } from '@polystore/core/adapter';
import { joinFleet, openUpgrade } from '@polystore/migrate';
import { freshNamespace } from '@polystore/testing';
import { widgetL, widgetM } from '@polystore/testing/upgrade-fixtures';
import { freshStoreUrl, STORE_BACKENDS, type StoreBackend } from '@polystore/testing/vitest';
import { describe, expect, it } from 'vitest';
import type { CrashGo, CrashLine } from './upgrade-crash-worker.ts';

/** Kills (or interruptions, on memory) each backend must see at least (issue 16 asks 20). */
const MIN_KILLS = 20;
/**
 * Kills each backend gets before a run is let complete: a few more than {@link MIN_KILLS}.
 * A run that completes before (too few records for the pages killed) fails the test.
 */
const KILLS = 22;
/**
 * Records seeded per backend. A kill costs its progress lines plus the pages of its random
 * delay, so the fastest pages use up the most: with 400 records, Redis (2 ms pages) on an
 * idle machine completed its migrate after 21 kills, where SQLite (1 ms) ended its 22nd at
 * 296 records and PostgreSQL (5 ms) at 222. Twice that leaves room on a faster machine.
 */
const RECORDS = 800;
/**
 * Fewer on FerretDB, whose writes are serialised and slow: its pages are slow too, so a
 * kill's random delay costs few pages (about 130 records for 22 kills in runs measured).
 */
const RECORDS_ON: Partial<Record<StoreBackend, number>> = { mongo: 250 };
/**
 * Records per migrate page: small, so a run has many pages to be killed between
 * (800 / 2 = 400 pages; a kill costs 0 to {@link MAX_PAGES_PER_RUN} pages plus the pages of its delay).
 */
const BATCH = 2;
/**
 * Records per page of the run let complete: it resumes with another page size (allowed: the
 * checkpoint is a record id), so the hundreds of records left do not take hundreds of pages.
 */
const FINAL_BATCH = 100;
/** Most progress lines a worker prints before it is killed. */
const MAX_PAGES_PER_RUN = 5;
/** Most milliseconds between the chosen progress line and the kill. */
const MAX_KILL_DELAY_MS = 20;
/** The runner lease of most workers: short, so a killed runner's lease lapses soon. */
const RUNNER_LEASE_MS = 500;
/** The runner lease of every {@link LONG_LEASE_EVERY}th worker: longer than a spawn takes. */
const LONG_LEASE_MS = 4000;
/** Which workers hold the long lease (the 2nd, 13th, ...). */
const LONG_LEASE_EVERY = 11;
/** Workers spawned ahead of the running one. */
const AHEAD = 2;
/** Seeded records the concurrent writer updates (the rest only migrate converts). */
const WRITER_TOUCHES = 30;
/** The writer's pause between writes, ms: a steady trickle, not a load test. */
const WRITER_PAUSE_MS = 40;
/** How long a worker waits for the killed runner's lease to lapse. */
const WAIT_MS = 20_000;
/** Deadline for one worker to print its next line. */
const LINE_DEADLINE_MS = 60_000;

/** Timeouts with room for a loaded machine (as `write-only.test.ts` gives them). */
const ADAPTER_OPTIONS: Partial<Record<StoreBackend, Record<string, unknown>>> = {
  postgres: { connectTimeoutMs: 15_000, statementTimeoutMs: 20_000, failFastMs: 20_000 },
  redis: { commandTimeoutMs: 15_000 },
  zookeeper: { requestTimeoutMs: 15_000, failFastMs: 20_000 },
  // A migrate killed inside a rewrite on FerretDB leaves its record claim behind; the next
  // writer of that record waits until the claim is stale (claimTimeoutMS, default 30 s,
  // longer than failFastMs: the write would fail with UnavailableError meanwhile).
  mongo: { failFastMs: 20_000, claimTimeoutMS: 5000 },
};

const here = dirname(fileURLToPath(import.meta.url));
const projects = ['crash-a', 'crash-b', 'crash-c'] as const;
const everything: RequestContext = createContext({ isAdmin: true, readDeleted: 'yes' });

/** mulberry32: a small seeded generator, so a failing run can be replayed from its seed. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedOf(raw: string | undefined): number {
  if (raw === undefined) return Math.floor(Math.random() * 2 ** 31);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`POLYSTORE_CRASH_SEED must be a non-negative integer, not ${raw}`);
  return n;
}

const SEED = seedOf(process.env.POLYSTORE_CRASH_SEED);

/** One migrate worker process, read line by line. */
class CrashWorker {
  readonly #child: ChildProcess;
  readonly #lines: AsyncIterator<string>;
  readonly #exited: Promise<number | null>;
  #stderr = '';

  constructor(url: string, leaseMs: number, adapter: Record<string, unknown>) {
    this.#child = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        join(here, 'upgrade-crash-worker.ts'),
        url,
        String(leaseMs),
        JSON.stringify(adapter),
      ],
      { cwd: join(here, '..'), stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.#exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
    this.#lines = createInterface({ input: this.#child.stdout! })[Symbol.asyncIterator]();
  }

  /** The worker's next line; fails with its stderr if it exited, or after the deadline. */
  async next(): Promise<CrashLine> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`crash worker printed nothing for ${LINE_DEADLINE_MS} ms`)),
        LINE_DEADLINE_MS,
      );
    });
    try {
      const { value, done } = await Promise.race([this.#lines.next(), late]);
      if (done) throw new Error(`crash worker exited: ${this.#stderr.slice(-2000)}`);
      const line = JSON.parse(value) as CrashLine;
      if (line.event === 'error')
        throw new Error(`crash worker failed: ${line.message}\n${this.#stderr.slice(-2000)}`);
      return line;
    } finally {
      clearTimeout(timer);
    }
  }

  go(go: CrashGo): void {
    this.#child.stdin!.write(`${JSON.stringify(go)}\n`);
  }

  /** Freezes the worker where it is (SIGSTOP); a kill follows. */
  freeze(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null)
      this.#child.kill('SIGSTOP');
  }

  /** SIGKILLs the worker and waits until it is gone. */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null)
      this.#child.kill('SIGKILL');
    await this.#exited;
  }
}

/** A kill point, for the figures: the record count done at the last line seen, and how the moment was chosen. */
interface KillPoint {
  readonly done: number;
  readonly lines: number;
  readonly delayMs: number;
}

/** What the seed left in the store: every widget record as stored at 1.0. */
type Seeded = ReadonlyMap<string, StoredRecord>;

/** Seeds widget 1.0 records in several projects, several revisions each, some soft-deleted. */
async function seed(
  url: string,
  adapter: Record<string, unknown>,
  records: number,
  random: () => number,
): Promise<Seeded> {
  const stores = await openStores(url, { resources: [widgetL], adapter });
  try {
    const widgets = stores.store(widgetL);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
    const plans = Array.from({ length: records }, (_, i) => ({
      ctx: createContext({ projectId: pick(projects) }),
      create: {
        serial: `s-${String(i).padStart(4, '0')}`,
        // Some records keep the defaults (name '', size 0) the history converts too.
        ...(random() < 0.8 ? { name: `name-${Math.floor(random() * 1e6)}` } : {}),
        ...(random() < 0.9 ? { size: Math.floor(random() * 100) } : {}),
        note: random() < 0.5 ? null : `note ${i}`,
      },
      updates: Math.floor(random() * 3),
      sizes: Array.from({ length: 3 }, () => Math.floor(random() * 100)),
      deleted: random() < 0.15,
    }));
    // A few at a time: the seed is not what is measured.
    for (let i = 0; i < plans.length; i += 25) {
      await Promise.all(
        plans.slice(i, i + 25).map(async (plan, j) => {
          const created = await widgets.create(plan.ctx, plan.create);
          for (let u = 0; u < plan.updates; u++) {
            await widgets.update(plan.ctx, created.id, {
              size: plan.sizes[u]!,
              name: `renamed-${i + j}-${u}`,
              ...(u === 1 ? { note: null } : {}),
            });
          }
          if (plan.deleted) await widgets.delete(plan.ctx, created.id);
        }),
      );
    }
    return new Map((await everyRecord(stores, widgetL)).map((r) => [r.id, r]));
  } finally {
    await stores.close();
  }
}

/** Every widget record of every project, live and soft-deleted. */
async function everyRecord(
  stores: Stores,
  resource: typeof widgetL | typeof widgetM,
): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for (let after: string | undefined; ; ) {
    const page = await stores.store(resource).list(everything, { limit: 200, after });
    out.push(...(page.items as unknown as StoredRecord[]));
    if (!page.next) return out;
    after = page.next;
  }
}

/** What a migrate that was never killed makes of a seeded record: widget 1.1's history, written once. */
function converted(record: StoredRecord): StoredRecord {
  return {
    ...record,
    color: typeof record.size === 'number' && record.size >= 50 ? 'large' : 'small',
    title: record.name,
    objectVersion: '1.1',
    revision: record.revision + 1,
  };
}

/** Expands the seeded store to widget 1.1 (the new release's elements, written before the first kill). */
async function expand(url: string, adapter: Record<string, unknown>): Promise<void> {
  const upgrade = await openUpgrade(url, { resources: [widgetM], adapter });
  try {
    await upgrade.expand();
  } finally {
    await upgrade.close();
  }
}

function median(values: readonly number[]): number | null {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? null : sorted[Math.floor(sorted.length / 2)]!;
}

/** A spawned worker once it printed `ready`, and whether it is yet. */
interface Spawned {
  readonly ready: Promise<{ readonly worker: CrashWorker; readonly runner: string }>;
  isReady: boolean;
}

/**
 * Kills migrate workers at random moments, {@link KILLS} times, then lets one complete; the
 * kill points.
 */
async function killUntilDone(
  url: string,
  adapter: Record<string, unknown>,
  random: () => number,
  figures: Record<string, unknown>,
): Promise<KillPoint[]> {
  const kills: KillPoint[] = [];
  let takeovers = 0;
  let frozen = 0;
  let runs = 0;
  // From a run's start to its first page (the lease wait and the pin), and between pages.
  const toFirstPageMs: number[] = [];
  const pageMs: number[] = [];
  const timed = (start: number, previous: number | undefined, at: number): number => {
    if (previous === undefined) toFirstPageMs.push(at - start);
    else pageMs.push(at - previous);
    return at;
  };
  const workers: CrashWorker[] = [];
  const spawnReady = (): Spawned => {
    const leaseMs = workers.length % LONG_LEASE_EVERY === 1 ? LONG_LEASE_MS : RUNNER_LEASE_MS;
    const worker = new CrashWorker(url, leaseMs, adapter);
    workers.push(worker);
    const spawned: Spawned = {
      isReady: false,
      ready: worker.next().then((line) => {
        if (line.event !== 'ready') throw new Error(`expected ready, got ${line.event}`);
        spawned.isReady = true;
        return { worker, runner: line.runner };
      }),
    };
    // A rejection is awaited in its turn; until then it must not count as unhandled.
    spawned.ready.catch(() => {});
    return spawned;
  };
  // Every worker a run needs: one per kill and the one that completes.
  const queue = Array.from({ length: Math.min(1 + AHEAD, KILLS + 1) }, spawnReady);
  try {
    let previousRunner: string | undefined;
    for (;;) {
      const current = await queue.shift()!.ready;
      const last = kills.length >= KILLS;
      current.worker.go({ batch: last ? FINAL_BATCH : BATCH, waitMs: WAIT_MS });
      runs++;
      if (workers.length < KILLS + 1) queue.push(spawnReady());
      const start = await current.worker.next();
      if (start.event !== 'start') throw new Error(`expected start, got ${start.event}`);
      // The killed runner's lease was still in force when this run began: it takes it over.
      if (
        previousRunner !== undefined &&
        start.heldBy?.id === previousRunner &&
        Date.parse(start.heldBy.until) > start.at
      )
        takeovers++;
      let pageAt: number | undefined;
      if (last) {
        for (let line = await current.worker.next(); line.event !== 'done'; )
          line = await current.worker.next();
        return kills;
      }
      const lines = Math.floor(random() * (MAX_PAGES_PER_RUN + 1));
      const delayMs = Math.floor(random() * (MAX_KILL_DELAY_MS + 1));
      let done = -1;
      for (let seen = 0; seen < lines; ) {
        const line = await current.worker.next();
        if (line.event === 'done')
          throw new Error(
            `a migrate completed after ${kills.length} kills, fewer than ${KILLS}: seed more records`,
          );
        if (line.event === 'progress') {
          done = line.done;
          seen++;
          pageAt = timed(start.at, pageAt, line.at);
        }
      }
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (!queue[0]!.isReady) {
        current.worker.freeze();
        frozen++;
        await queue[0]!.ready;
      }
      await current.worker.kill();
      kills.push({ done, lines, delayMs });
      previousRunner = current.runner;
    }
  } finally {
    Object.assign(figures, {
      runs,
      kills: kills.length,
      takeovers,
      frozen,
      medianMsToFirstPage: median(toFirstPageMs),
      medianMsPerPage: median(pageMs),
    });
    await Promise.all(workers.map((w) => w.kill()));
  }
}

/**
 * Interrupts migrate on memory with its signal after a random number of pages,
 * {@link KILLS} times, then lets a run complete; the interruption points.
 */
async function interruptUntilDone(
  url: string,
  adapter: Record<string, unknown>,
  random: () => number,
  figures: Record<string, unknown>,
): Promise<KillPoint[]> {
  const kills: KillPoint[] = [];
  let runs = 0;
  try {
    for (;;) {
      const upgrade = await openUpgrade(url, {
        resources: [widgetM],
        runner: `interrupted-${runs}`,
        runnerLeaseMs: RUNNER_LEASE_MS,
        adapter,
      });
      runs++;
      try {
        const stop = new AbortController();
        const last = kills.length >= KILLS;
        const pages = 1 + Math.floor(random() * MAX_PAGES_PER_RUN);
        let seen = 0;
        let done = -1;
        const [report] = await upgrade.migrate({
          batch: last ? FINAL_BATCH : BATCH,
          waitMs: WAIT_MS,
          signal: stop.signal,
          onProgress: (p) => {
            done = p.done;
            if (++seen === pages && !last) stop.abort();
          },
        });
        if (last) {
          expect(report?.remaining).toBe(0);
          return kills;
        }
        if (report?.remaining === 0)
          throw new Error(
            `a migrate completed after ${kills.length} interruptions, fewer than ${KILLS}: seed more records`,
          );
        kills.push({ done, lines: pages, delayMs: 0 });
      } finally {
        await upgrade.close();
      }
    }
  } finally {
    Object.assign(figures, { runs, kills: kills.length, takeovers: 0 });
  }
}

/** What the fleet member wrote while migrate was killed: the acknowledged writes. */
interface Written {
  /** Seeded record id → the note of its last acknowledged update, and how many were acknowledged. */
  readonly notes: ReadonlyMap<string, { readonly note: string; readonly updates: number }>;
  /** Records it created, as acknowledged. */
  readonly created: readonly StoredRecord[];
  /** Ids whose last write had an unknown outcome (a timeout): their note and revision are not checked. */
  readonly uncertain: ReadonlySet<string>;
  /** Creates with an unknown outcome (each may or may not exist). */
  readonly uncertainCreates: number;
  /** Writes refused because the member was fenced (its heartbeat late on a loaded machine). */
  readonly fenced: number;
}

/**
 * A service at release 1.1 (widget 1.1 code) that joins the fleet before the first migrate
 * and writes while the migrate processes are killed: it updates the note of a few seeded
 * records ({@link WRITER_TOUCHES}; few, so the runner keeps most records to convert) and
 * creates records with color and title consistent with size and name, so the end state is
 * known whichever version (pin) each write was made at.
 */
async function startWriter(
  url: string,
  adapter: Record<string, unknown>,
  seeded: Seeded,
  random: () => number,
): Promise<{ stop(): Promise<Written> }> {
  const member = await joinFleet(url, {
    service: 'crash-writer',
    release: '1.1.0',
    resources: [widgetM],
    heartbeatMs: 200,
    leaseMs: 5000,
    adapter,
  });
  const widgets = member.stores.store(widgetM);
  const live = [...seeded.values()].filter((r) => r.deletedAt === null);
  const touched = Array.from(
    { length: WRITER_TOUCHES },
    () => live[Math.floor(random() * live.length)]!,
  );
  const notes = new Map<string, { note: string; updates: number }>();
  const created: StoredRecord[] = [];
  const uncertain = new Set<string>();
  let uncertainCreates = 0;
  let fenced = 0;
  let stopping = false;
  const loop = (async () => {
    for (let i = 0; !stopping; i++) {
      const create = i % 3 === 2;
      const record = touched[i % touched.length]!;
      const ctx = createContext({ projectId: create ? projects[0] : String(record.projectId) });
      try {
        if (create) {
          const size = Math.floor(random() * 100);
          const name = `written-${i}`;
          const color = size >= 50 ? 'large' : 'small';
          const got = await widgets.create(ctx, {
            serial: `w-${i}`,
            name,
            size,
            color,
            title: name,
          });
          created.push(got as unknown as StoredRecord);
        } else {
          const note = `written ${i}`;
          await widgets.update(ctx, record.id, { note });
          notes.set(record.id, { note, updates: (notes.get(record.id)?.updates ?? 0) + 1 });
        }
      } catch (err) {
        // Refused before writing: nothing happened.
        if (err instanceof FencedError || err instanceof ConflictError) fenced++;
        // A timeout: the write may or may not have happened.
        else if (err instanceof UnavailableError) {
          if (create) uncertainCreates++;
          else uncertain.add(record.id);
        } else throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, WRITER_PAUSE_MS));
    }
  })();
  loop.catch(() => {});
  return {
    async stop(): Promise<Written> {
      stopping = true;
      try {
        await loop;
      } finally {
        await member.close();
      }
      return { notes, created, uncertain, uncertainCreates, fenced };
    },
  };
}

/** Asserts the end state a migrate that was never killed leaves, then switches and queries on color. */
async function checkEndState(
  url: string,
  adapter: Record<string, unknown>,
  seeded: Seeded,
  written: Written,
  figures: Record<string, unknown>,
): Promise<void> {
  const upgrade = await openUpgrade(url, { resources: [widgetM], adapter });
  try {
    const status = await upgrade.status();
    const widget = status.resources.find((r) => r.resource === 'widget')!;
    const stored = await everyRecord(upgrade.stores, widgetM);
    const byId = new Map(stored.map((r) => [r.id, r]));
    // A seeded record: converted once, plus the writer's acknowledged updates of its note;
    // an update made at the moved pin converts the record itself, so migrate skips it.
    const mismatched = [...seeded.values()].filter((seededRecord) => {
      const now = byId.get(seededRecord.id);
      if (now === undefined) return true;
      if (written.uncertain.has(seededRecord.id)) return now.objectVersion !== '1.1';
      const updated = written.notes.get(seededRecord.id);
      if (updated === undefined) return !sameRecord(now, converted(seededRecord));
      const delta = now.revision - seededRecord.revision - updated.updates;
      // The writer's updates set the note and updatedAt; every other field is the converted seed.
      return !(
        (delta === 0 || delta === 1) &&
        sameRecord(
          { ...now, revision: 0, updatedAt: '' },
          { ...converted(seededRecord), note: updated.note, revision: 0, updatedAt: '' },
        )
      );
    });
    // A created record: as created (its color and title agree with size and name, so a
    // create backported to 1.0 and converted reads the same), at revision 1 or 2.
    const createdWrong = written.created.filter((c) => {
      const now = byId.get(c.id);
      return (
        now === undefined ||
        now.objectVersion !== '1.1' ||
        now.revision - c.revision > 1 ||
        !sameRecord(
          { ...now, revision: 0, objectVersion: '' },
          { ...c, revision: 0, objectVersion: '' },
        )
      );
    });
    const untouched = [...seeded.values()].filter(
      (r) => !written.notes.has(r.id) && !written.uncertain.has(r.id),
    );
    const revisions = untouched.map((r) => byId.get(r.id)!.revision - r.revision);
    Object.assign(figures, {
      written: {
        updated: written.notes.size,
        updates: [...written.notes.values()].reduce((n, u) => n + u.updates, 0),
        created: written.created.length,
        uncertain: written.uncertain.size + written.uncertainCreates,
        refused: written.fenced,
      },
      mismatched: mismatched.length,
      createdWrong: createdWrong.length,
      convertedTwice: revisions.filter((d) => d > 1).length,
      notConverted: revisions.filter((d) => d < 1).length,
      stateConverted: widget.converted,
    });
    if (mismatched.length > 0) {
      const first = mismatched[0]!;
      console.log(
        `upgrade crash: first mismatch ${JSON.stringify({ seeded: first, written: written.notes.get(first.id), now: byId.get(first.id) })}`,
      );
    }
    expect(stored.length).toBeGreaterThanOrEqual(seeded.size + written.created.length);
    expect(stored.length).toBeLessThanOrEqual(
      seeded.size + written.created.length + written.uncertainCreates,
    );
    expect(mismatched).toEqual([]);
    expect(createdWrong).toEqual([]);
    // The engine's own reading of the history agrees with the one spelled out above.
    for (const r of untouched)
      expect(byId.get(r.id)).toMatchObject({
        ...readAtCodeVersion(widgetM, r),
        objectVersion: '1.1',
        revision: r.revision + 1,
      });
    expect(widget).toMatchObject({
      stored: { '1.1': stored.length },
      belowCode: 0,
      pin: '1.1',
      checkpoint: null,
      runner: null,
    });
    // `converted` is a progress count, saved with each page's checkpoint: a page rewritten
    // by a runner killed before it saved its checkpoint is not counted (the next runner no
    // longer finds those records at 1.0), so after kills it may fall short, never exceed.
    expect(widget.converted).toBeLessThanOrEqual(stored.length);
    expect(status.next).toBe('switch');

    await upgrade.switch();
    expect((await upgrade.status()).next).toBe('none');
  } finally {
    await upgrade.close();
  }

  // A process opening the store after the switch may query on color; the answers agree
  // with the records.
  const stores = await openStores(url, { resources: [widgetM], adapter });
  try {
    const records = await everyRecord(stores, widgetM);
    for (const color of ['small', 'large'] as const) {
      const ids: string[] = [];
      for (let after: string | undefined; ; ) {
        const page = await stores
          .store(widgetM)
          .list(everything, { where: { color }, limit: 200, after });
        ids.push(...page.items.map((r) => r.id));
        if (!page.next) break;
        after = page.next;
      }
      const expected = records.filter((r) => r.color === color).map((r) => r.id);
      expect(ids.sort()).toEqual(expected.sort());
      expect(await stores.store(widgetM).count(everything, { color })).toBe(expected.length);
    }
    const large = records.filter((r) => r.color === 'large');
    const some = large.slice(0, 20);
    for (const r of some) {
      const got = await stores.store(widgetM).get(everything, r.id);
      expect(got.color).toBe('large');
      expect(got.size).toBeGreaterThanOrEqual(50);
    }
  } finally {
    await stores.close();
  }
}

/** Whether two records agree on every field the test cares about (fields, revision, version, times, project). */
function sameRecord(a: StoredRecord, b: StoredRecord): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const x = a[key];
    const y = b[key];
    const same =
      x instanceof Date || y instanceof Date
        ? new Date(x as Date).getTime() === new Date(y as Date).getTime()
        : JSON.stringify(x) === JSON.stringify(y);
    if (!same) return false;
  }
  return true;
}

describe('migrate killed at random points resumes to the same end state', () => {
  STORE_BACKENDS.forEach((backend: StoreBackend, index) => {
    it(`on ${backend}`, { timeout: 400_000 }, async () => {
      const seedHere = (SEED + index * 7919) >>> 0;
      const random = generator(seedHere);
      const started = Date.now();
      const records = RECORDS_ON[backend] ?? RECORDS;
      const figures: Record<string, unknown> = { backend, seed: SEED, records };
      try {
        // freshStoreUrl's memory: is a private database per open; a named one is shared.
        const url =
          backend === 'memory'
            ? `memory:${freshNamespace('crash')}`
            : await freshStoreUrl(backend, 'crash');
        const adapter = ADAPTER_OPTIONS[backend] ?? {};
        const seeded = await seed(url, adapter, records, random);
        figures.deleted = [...seeded.values()].filter((r) => r.deletedAt !== null).length;
        figures.secondsSeed = (Date.now() - started) / 1000;
        await expand(url, adapter);
        const t0 = Date.now();
        const writer = await startWriter(url, adapter, seeded, generator(seedHere ^ 0x5bd1e995));
        let written: Written;
        let kills: KillPoint[];
        try {
          kills =
            backend === 'memory'
              ? await interruptUntilDone(url, adapter, random, figures)
              : await killUntilDone(url, adapter, random, figures);
        } finally {
          written = await writer.stop();
        }
        figures.secondsKilling = (Date.now() - t0) / 1000;
        figures.killPoints = kills.map((k) => `${k.lines}+${k.delayMs}ms@${k.done}`);
        expect(kills.length).toBeGreaterThanOrEqual(MIN_KILLS);
        // At least the runs after a long-lease worker found its lease in force and took it over.
        if (backend !== 'memory') expect(figures.takeovers).toBeGreaterThanOrEqual(1);
        await checkEndState(url, adapter, seeded, written, figures);
      } finally {
        figures.seconds = (Date.now() - started) / 1000;
        console.log(`upgrade crash: ${JSON.stringify(figures)}`);
      }
    });
  });
});
