import { randomUUID } from 'node:crypto';
import { UnavailableError } from '@polystore/core';
import type { Collection } from 'mongodb';
import { isDuplicateKeyError, mapErrors, toPolystoreError } from './errors.js';

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
}

/** Options of {@link RecordClaims}. */
export interface RecordClaimsOptions {
  /** How long a claim may stay unchanged, while its record does not move, before another process takes it over, in ms. */
  readonly staleMs: number;
  /** How long `acquire` waits for a claim held by another process before `UnavailableError`, in ms. */
  readonly waitMs: number;
}

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
 * const held = await claims.acquire('instances', id, 4, () => readRevision(id));
 * if (held) { try { await write(); await held.release(true); } catch { await held.release(false); } }
 * ```
 */
export class RecordClaims {
  readonly #collection: Collection<ClaimDocument>;
  readonly #options: RecordClaimsOptions;
  /** Claims of other processes seen while waiting: `_id` → token and when first seen here. */
  readonly #seen = new Map<string, { token: string; since: number }>();

  constructor(collection: Collection<ClaimDocument>, options: RecordClaimsOptions) {
    this.#collection = collection;
    this.#options = Object.freeze({ ...options });
  }

  /** The claims collection (for tests and cleanup). */
  get collection(): Collection<ClaimDocument> {
    return this.#collection;
  }

  /**
   * Claims the step of record `id` from revision `from` to `from + 1`. Resolves to the
   * claim, or `undefined` once `liveRevision` (the record's revision, `undefined` if it is
   * gone or deleted) says the record has moved on, so the caller must decide afresh.
   * Throws `UnavailableError` when another live process holds the step for longer than
   * `waitMs`.
   */
  async acquire(
    collection: string,
    id: string,
    from: number,
    liveRevision: () => Promise<number | undefined>,
  ): Promise<HeldClaim | undefined> {
    const step = [collection, id, from + 1] as const;
    const key = JSON.stringify(step);
    const deadline = performance.now() + this.#options.waitMs;
    let epoch: number | undefined = 0;
    for (let round = 0; ; round++) {
      if (epoch !== undefined) {
        const held = await this.#tryClaim(key, JSON.stringify([...step, epoch]), epoch);
        if (held) {
          this.#forget(key);
          return held;
        }
      }
      if ((await liveRevision()) !== from) {
        this.#forget(key);
        return undefined;
      }
      const top = await this.#latest(key);
      if (top === undefined) epoch = 0;
      else if (this.#isStale(top)) epoch = top.epoch + 1;
      else {
        epoch = undefined;
        if (performance.now() > deadline) {
          throw new UnavailableError(
            `mongo: record ${id} of ${collection} is being written by another process ` +
              `(its claim of revision ${from + 1} is still held after ${this.#options.waitMs} ms)`,
          );
        }
        // A write holds a claim for a round trip or two: poll soon, spread out.
        await pause(Math.random() * Math.min(50, 2 ** round));
      }
    }
  }

  /** Inserts the claim of one epoch of a step; `undefined` when another process has it. */
  async #tryClaim(key: string, id: string, epoch: number): Promise<HeldClaim | undefined> {
    try {
      await this.#collection.insertOne({ _id: id, key, epoch, token: randomUUID() });
    } catch (err) {
      if (isDuplicateKeyError(err)) return undefined;
      throw toPolystoreError(err, 'claim a write');
    }
    return {
      release: async (written) => {
        await this.#collection
          .deleteMany(written ? { key: { $eq: key } } : { _id: { $eq: id } })
          .catch(() => {});
      },
    };
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
