import { randomUUID } from 'node:crypto';
import { UnavailableError } from '@polystore/core';
import type { Collection } from 'mongodb';
import {
  DUPLICATE_CODES,
  isDuplicateKeyError,
  mapErrors,
  toCoreError,
  writeErrorsOf,
} from './errors.js';
import { command } from './fail-fast.js';

/**
 * A claim as stored in the claims collection: the right to move one record from one
 * revision to the next. `_id` names the step and the epoch, so the unique `_id` index lets
 * exactly one process hold a step's claim of a given epoch.
 */
export interface ClaimDocument {
  /** `[collection, record id, revision written, epoch]` as JSON. */
  _id: string;
  /** `[collection, record id, revision written]` as JSON: every epoch of one step. */
  key: string;
  /** 0 for the first claim of a step, +1 each time a stale claim is taken over. */
  epoch: number;
  /** Random: tells a claim from a later one that reuses its `_id`. */
  token: string;
}

/** A claim this process holds; released once its write is done or given up. */
export interface HeldClaim {
  /**
   * Drops the claim. After a write that happened, every claim of the step goes (the record
   * moved on, so none of them can matter); after one that did not, only this one, so that
   * another process can take the step at once. Never throws: a claim left behind only
   * delays others until it is stale.
   */
  release(written: boolean): Promise<void>;
  /**
   * Keeps the claim held after a write whose fate is unknown (it timed out, or its
   * connection broke): it is dropped before this process's next claimed write, by which
   * time the server has answered again, so a late run of that write has had its turn.
   */
  abandon(): void;
}

/** A claim of {@link RecordClaims.acquireMany}: released in bulk with `releaseMany`. */
export interface ManyClaim {
  /** The claim document's `_id` (the step and its epoch). */
  readonly id: string;
  /** Every epoch of the step (see {@link ClaimDocument.key}). */
  readonly key: string;
  /** This claim's own token. */
  readonly token: string;
}

/** Options of {@link RecordClaims}. */
export interface RecordClaimsOptions {
  /** How long a claim may stay unchanged, while its record does not move, before another process takes it over, in ms. */
  readonly staleMs: number;
  /** How long `acquire` waits for a claim held by another process before `UnavailableError`, in ms. */
  readonly waitMs: number;
}

/** How often a waiting writer reads the claims of its step at most, to judge staleness, in ms. */
const STALE_CHECK_MS = 250;
/** The shortest pause between two looks of a waiting writer, in ms. */
const MIN_PAUSE_MS = 4;
/** The longest random part of that pause, in ms. */
const MAX_PAUSE_MS = 48;

/** The index that lists every epoch of one step. */
export const CLAIM_INDEXES = Object.freeze([
  Object.freeze({ name: 'by_key', key: Object.freeze({ key: 1 as const }), unique: false }),
]);

/**
 * Cross-process exclusion of conditional writes on FerretDB v1, built on the one thing it
 * does atomically: an insert into a unique index (the underlying SQLite or PostgreSQL
 * enforces it). FerretDB v1 runs `findAndModify` (and `update`, `delete`) as a read, a
 * check in Go and an unconditional write by `_id`, so two processes whose filters both
 * match can both write (a lost update, a delete undone, a delete acknowledged twice).
 *
 * Before a conditional write moves a record from revision `r` to `r + 1`, the writer
 * inserts the claim `(collection, id, r + 1)`. Every writer of every process does so, so
 * at most one of them holds the step: the holder's `findAndModify` (whose filter still
 * carries the revision and conditions) cannot be interleaved with another's. A holder that
 * finds the record no longer at `r` writes nothing, which also fences a stale reader.
 *
 * A process that dies between claim and write leaves the record blocked at `r`. Others
 * wait, re-reading the record; a claim seen unchanged for `staleMs` while the record has
 * not moved is taken over by inserting the next epoch of the step (again a unique insert,
 * so exactly one taker wins). Staleness is measured on this process's own monotonic clock
 * from when it first saw the claim, so clocks of other hosts do not matter. The one case
 * left open: a holder paused for longer than `staleMs` between its claim and its write
 * (and then writing in the same instant as its successor, inside FerretDB's read-then-write
 * window) could still race; `staleMs` defaults far above any write's duration for that.
 *
 * @example
 * ```ts
 * const claims = new RecordClaims(db.collection('_claims'), { staleMs: 30_000, waitMs: 10_000 });
 * const got = await claims.acquire('instances', id, 4, () => read(id), (doc) => doc?.revision);
 * if ('claim' in got) {
 *   const written = await write().catch(async (err) => { await got.claim.release(false); throw err; });
 *   await got.claim.release(written);
 * }
 * ```
 */
export class RecordClaims {
  readonly #collection: Collection<ClaimDocument>;
  readonly #options: RecordClaimsOptions;
  /** Claims of other processes seen while waiting: `_id` → token and when first seen here. */
  readonly #seen = new Map<string, { token: string; since: number }>();
  /**
   * Claims of this process that could not be released (the server went away mid-write):
   * `_id` → token. Dropped before the next claim, so that after an outage this process's
   * own leftovers do not block the records for `staleMs`.
   */
  readonly #orphans = new Map<string, string>();

  constructor(collection: Collection<ClaimDocument>, options: RecordClaimsOptions) {
    this.#collection = collection;
    this.#options = Object.freeze({ ...options });
  }

  /** How often a waiting writer reads its step's claims, in ms. */
  get #checkEvery(): number {
    return Math.min(this.#options.staleMs / 4, STALE_CHECK_MS);
  }

  /** The claims collection (for tests and cleanup). */
  get collection(): Collection<ClaimDocument> {
    return this.#collection;
  }

  /**
   * Claims the step of record `id` from revision `from` to `from + 1`. Resolves to the
   * claim, or to the record's state (as `look` read it) once `revisionOf` that state says
   * the record has moved on (`undefined`: gone or deleted), so the caller decides afresh
   * without reading it again. Throws `UnavailableError` when another live process holds
   * the step for longer than `waitMs`.
   */
  async acquire<T>(
    collection: string,
    id: string,
    from: number,
    look: () => Promise<T>,
    revisionOf: (state: T) => number | undefined,
  ): Promise<{ readonly claim: HeldClaim } | { readonly moved: T }> {
    await this.#sweep();
    const step = [collection, id, from + 1] as const;
    const key = JSON.stringify(step);
    const started = performance.now();
    // When to read the step's claims next, to see whether the holder's was released
    // without a write or is stale. Not every round: a write holds its claim for a round
    // trip or two, and it nearly always ends with the record moved on, which `look` sees.
    let nextCheck = started + this.#checkEvery;
    let epoch: number | undefined = 0;
    for (let round = 0; ; round++) {
      if (epoch !== undefined) {
        const claim = await this.#tryClaim(key, JSON.stringify([...step, epoch]), epoch);
        if (claim) {
          this.#forget(key);
          return { claim };
        }
        epoch = undefined;
      }
      // Spread the waiting writers out, a little longer each round: every read they make
      // costs the server time the holder's write needs.
      await pause(MIN_PAUSE_MS + Math.random() * Math.min(MAX_PAUSE_MS, MIN_PAUSE_MS * 2 ** round));
      const state = await look();
      if (revisionOf(state) !== from) {
        this.#forget(key);
        return { moved: state };
      }
      const now = performance.now();
      if (now >= nextCheck) {
        nextCheck = now + this.#checkEvery;
        const top = await this.#latest(key);
        // Released without a write (the holder's conditions failed): claim again at once.
        if (top === undefined) epoch = 0;
        else if (this.#isStale(top)) epoch = top.epoch + 1;
      }
      if (epoch === undefined && now - started > this.#options.waitMs) {
        throw new UnavailableError(
          `mongo: record ${id} of ${collection} is being written by another process ` +
            `(its claim of revision ${from + 1} is still held after ${this.#options.waitMs} ms)`,
        );
      }
    }
  }

  /**
   * Claims the steps of many records at once (one insert of every claim), without waiting:
   * the claims won, by record id. A step another process holds is left out, for the caller
   * to write that record on its own (through {@link acquire}, which waits). Throws
   * `UnavailableError` when the insert fails otherwise (any claim it made is dropped later,
   * as after a write whose fate is unknown).
   */
  async acquireMany(
    collection: string,
    steps: readonly { readonly id: string; readonly from: number }[],
  ): Promise<Map<string, ManyClaim>> {
    await this.#sweep();
    const docs = steps.map(({ id, from }): ClaimDocument => {
      const key = JSON.stringify([collection, id, from + 1]);
      return {
        _id: JSON.stringify([collection, id, from + 1, 0]),
        key,
        epoch: 0,
        token: randomUUID(),
      };
    });
    const lost = new Set<number>();
    if (docs.length > 0) {
      try {
        await command(() => this.#collection.insertMany(docs, { ordered: false }));
      } catch (err) {
        const refused = writeErrorsOf(err);
        if (refused === undefined || refused.some((e) => !DUPLICATE_CODES.has(e.code))) {
          for (const d of docs) this.#orphans.set(d._id, d.token);
          throw toCoreError(err, { operation: 'claim writes' });
        }
        for (const e of refused) lost.add(e.index);
      }
    }
    const won = new Map<string, ManyClaim>();
    docs.forEach((d, i) => {
      if (!lost.has(i)) won.set(steps[i]!.id, { id: d._id, key: d.key, token: d.token });
    });
    return won;
  }

  /**
   * Drops claims of {@link acquireMany} in two commands: every claim of each step `written`
   * (its record moved on), and the others by their own tokens. Never throws: a claim left
   * behind is dropped before this process's next claimed write, as one whose write's fate
   * is unknown (`abandon`), and only delays others until then.
   */
  async releaseMany(written: readonly ManyClaim[], unwritten: readonly ManyClaim[]): Promise<void> {
    const drop = async (claims: readonly ManyClaim[], filter: () => object) => {
      if (claims.length === 0) return;
      try {
        await command(() => this.#collection.deleteMany(filter()));
      } catch {
        for (const c of claims) this.#orphans.set(c.id, c.token);
      }
    };
    await drop(written, () => ({ key: { $in: written.map((c) => c.key) } }));
    await drop(unwritten, () => ({ token: { $in: unwritten.map((c) => c.token) } }));
  }

  /** Keeps claims of {@link acquireMany} held after writes whose fate is unknown (see `abandon`). */
  abandonMany(claims: readonly ManyClaim[]): void {
    for (const c of claims) this.#orphans.set(c.id, c.token);
  }

  /** Inserts the claim of one epoch of a step; `undefined` when another process has it. */
  async #tryClaim(key: string, id: string, epoch: number): Promise<HeldClaim | undefined> {
    const token = randomUUID();
    try {
      await command(() => this.#collection.insertOne({ _id: id, key, epoch, token }));
    } catch (err) {
      if (isDuplicateKeyError(err)) return undefined;
      // The insert may have happened (only its reply was lost): drop it once possible.
      this.#orphans.set(id, token);
      throw toCoreError(err, { operation: 'claim a write' });
    }
    return {
      release: async (written) => {
        try {
          await command(() =>
            this.#collection.deleteMany(
              written ? { key: { $eq: key } } : { _id: { $eq: id }, token: { $eq: token } },
            ),
          );
        } catch {
          this.#orphans.set(id, token);
        }
      },
      abandon: () => {
        this.#orphans.set(id, token);
      },
    };
  }

  /**
   * Drops this process's claims that could not be released. Its failure fails the write
   * that called it: the server is still away, and the write's own commands would wait for
   * it a second time.
   */
  async #sweep(): Promise<void> {
    for (const [id, token] of this.#orphans) {
      await mapErrors('release a write claim', () =>
        this.#collection.deleteOne({ _id: { $eq: id }, token: { $eq: token } }),
      );
      this.#orphans.delete(id);
    }
  }

  /** The claim of the step with the highest epoch, if any. */
  async #latest(key: string): Promise<ClaimDocument | undefined> {
    const claims = await mapErrors('read write claims', () =>
      this.#collection.find({ key: { $eq: key } }).toArray(),
    );
    let top: ClaimDocument | undefined;
    for (const c of claims) if (top === undefined || c.epoch > top.epoch) top = c;
    return top;
  }

  /** Whether a claim has been seen unchanged for `staleMs` (first sight starts the clock). */
  #isStale(claim: ClaimDocument): boolean {
    const now = performance.now();
    const seen = this.#seen.get(claim._id);
    if (seen === undefined || seen.token !== claim.token) {
      this.#seen.set(claim._id, { token: claim.token, since: now });
      return false;
    }
    return now - seen.since >= this.#options.staleMs;
  }

  /** Drops what was seen of a step's claims once the step is settled. */
  #forget(key: string): void {
    // `["c","id",5]` → `["c","id",5,`: the ids of every epoch of this step and no other.
    const prefix = `${key.slice(0, -1)},`;
    for (const id of this.#seen.keys()) if (id.startsWith(prefix)) this.#seen.delete(id);
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
