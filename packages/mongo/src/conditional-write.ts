import {
  inWriteScope,
  KeyedQueue,
  meetsConditions,
  type StoredRecord,
  type WriteOutcome,
  type WriteScope,
} from '@polystore/core/adapter';
import type { Document, Filter } from 'mongodb';
import { serverError } from './errors.js';
import { command } from './fail-fast.js';
import type { MongoLayout, StoredDocument } from './layout.js';
import { allOf, writeScopeClauses } from './mongo-filter.js';
import type { RecordClaims } from './record-claims.js';

/** How often a write is tried again when its failure cannot be explained (the record moved under it). */
export const MAX_ATTEMPTS = 3;
/**
 * How often a claimed write without an expected revision starts afresh because other
 * writers moved the record on first (each time one of them succeeded).
 */
const MAX_CLAIMED_ATTEMPTS = 100;

/** Expected values of a conditional write, by field. */
export type Expected = Readonly<Record<string, readonly unknown[]>>;

/**
 * The write of a conditional write: gets the filter (id, write scope, revision, expected
 * values) and returns the document written, or `null` when the filter matched nothing.
 */
export type FilteredWrite = (filter: Filter<StoredDocument>) => Promise<Document | null>;

/** Whether a conditional write may apply to a record as it is: why not, or `holds`. */
type Verdict =
  | Exclude<WriteOutcome, { status: 'ok' }>
  | { readonly status: 'holds'; readonly current: StoredRecord };

/**
 * The per-record lock table of every store of this process that serialises its writes
 * (`serializeWrites`), keyed by server and database, collection and record id.
 *
 * Why: FerretDB v1.24 runs `findAndModify` as a read followed by an unconditional write by
 * `_id`, so two concurrent conditional updates of one record can both succeed (a lost
 * update). Running the conditional writes of a record one at a time closes that race for
 * all stores of this process (claims, `src/record-claims.ts`, close it across processes;
 * this spares the claims of one process from waiting for each other). Process-wide (on
 * `globalThis`, see `KeyedQueue.shared`), so every copy of this module shares it.
 */
const RECORD_LOCKS = KeyedQueue.shared('mongo-record-locks');

/**
 * Runs `fn` under the lock of record `id` of `collection` in {@link RECORD_LOCKS}, shared by
 * every writer of the record in this process (the drivers' conditional writes, the markers
 * `expand` writes); at once when `lockScope` (the server and database) is `undefined`.
 */
export function underRecordLock<T>(
  lockScope: string | undefined,
  collection: string,
  id: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (lockScope === undefined) return fn();
  return RECORD_LOCKS.run(`${lockScope}\u0000${collection}\u0000${id}`, fn);
}

/** The revision of a stored record while it is live, else `undefined` (gone or deleted). */
function liveRevision(doc: Document | null): number | undefined {
  return doc === null || (doc.deletedAt ?? null) !== null ? undefined : (doc.revision as number);
}

/** What {@link ConditionalWrite} uses of its resource driver. */
export interface ConditionalWriteDeps {
  readonly layout: MongoLayout;
  /** Makes the writes exclusive across processes (`claimWrites`), or none. */
  readonly claims: RecordClaims | undefined;
  /** Record `id` as stored, whatever its scope and state (one read). */
  read(id: string): Promise<Document | null>;
}

/**
 * The conditional writes (update, delete) of a Mongo resource driver: on MongoDB one
 * atomic command whose filter carries the id, scope, revision and expected values, a second
 * read only explaining a failure; on FerretDB v1, whose `findAndModify` is not atomic
 * across connections, the same command under a claim of the record's revision step
 * ({@link RecordClaims}).
 */
export class ConditionalWrite {
  readonly #deps: ConditionalWriteDeps;

  constructor(deps: ConditionalWriteDeps) {
    this.#deps = deps;
  }

  /**
   * Runs a conditional write: `write` gets the filter (id, write scope, revision, expected
   * values) and returns the document written, or `null` when the filter matched nothing.
   * Driver errors of `write` are thrown as they are, for the caller to map.
   */
  run(
    scope: WriteScope,
    id: string,
    expectedRevision: number | undefined,
    expected: Expected | undefined,
    write: FilteredWrite,
  ): Promise<WriteOutcome> {
    const claims = this.#deps.claims;
    return claims
      ? this.#claimedWrite(claims, scope, id, expectedRevision, expected, write)
      : this.#plainWrite(scope, id, expectedRevision, expected, write);
  }

  /** The write as one atomic command (MongoDB): a second read only explains a failure. */
  async #plainWrite(
    scope: WriteScope,
    id: string,
    expectedRevision: number | undefined,
    expected: Expected | undefined,
    write: FilteredWrite,
  ): Promise<WriteOutcome> {
    const filter = this.#writeFilter(scope, id, expectedRevision, expected);
    for (let attempt = 1; ; attempt++) {
      const doc = await command(() => write(filter));
      if (doc !== null) return { status: 'ok', record: this.#deps.layout.fromDocument(doc) };
      const verdict = await this.#verdict(scope, id, expectedRevision, expected);
      if (verdict.status !== 'holds') return verdict;
      // The conditions hold after all (the record changed between the two commands).
      if (attempt >= MAX_ATTEMPTS) return { status: 'conflict', current: verdict.current };
    }
  }

  /**
   * The write under a claim of its revision step (see {@link RecordClaims}), for FerretDB
   * v1, whose `findAndModify` is not atomic across connections. With an expected revision
   * the step is known and claimed at once; otherwise the record is read first. A claim
   * lost to a writer that moved the record on means deciding afresh from the new state.
   */
  async #claimedWrite(
    claims: RecordClaims,
    scope: WriteScope,
    id: string,
    expectedRevision: number | undefined,
    expected: Expected | undefined,
    write: FilteredWrite,
  ): Promise<WriteOutcome> {
    let from = expectedRevision;
    let failedAt: number | undefined;
    // The record as last read while waiting for a claim, so it need not be read again.
    let state: Document | null | undefined;
    for (let attempt = 1; ; attempt++) {
      if (from === undefined) {
        const verdict = this.#judge(
          state === undefined ? await this.#deps.read(id) : state,
          scope,
          undefined,
          expected,
        );
        if (verdict.status !== 'holds') return verdict;
        // The write failed at this very revision although its conditions hold (they were
        // judged differently), or the record keeps moving: give up as a conflict.
        if (verdict.current.revision === failedAt || attempt > MAX_CLAIMED_ATTEMPTS)
          return { status: 'conflict', current: verdict.current };
        from = verdict.current.revision;
      }
      state = undefined;
      const got = await claims.acquire(
        this.#deps.layout.collection,
        id,
        from,
        () => this.#deps.read(id),
        liveRevision,
      );
      if ('claim' in got) {
        let doc: Document | null;
        try {
          doc = await command(() => write(this.#writeFilter(scope, id, from, expected)));
        } catch (err) {
          // The server refused the write (a broken unique index): nothing was written, so
          // the step is freed at once. Any other failure (a timeout on a frozen server, a
          // lost connection, the call given up) leaves the write's fate unknown: the server
          // may still run it when it wakes. Then the claim stays held, so no other writer
          // meets that late write inside FerretDB's read-then-write window; this process
          // drops it before its next claimed write, others take it over once stale.
          if (serverError(err) !== undefined) await got.claim.release(false);
          else got.claim.abandon();
          throw err;
        }
        await got.claim.release(doc !== null);
        if (doc !== null) return { status: 'ok', record: this.#deps.layout.fromDocument(doc) };
        failedAt = from;
      } else {
        state = got.moved;
      }
      if (expectedRevision !== undefined) {
        // The record is not (or no longer) at the expected revision, or the other
        // conditions fail: the record as it is says which.
        const verdict = this.#judge(
          state === undefined ? await this.#deps.read(id) : state,
          scope,
          expectedRevision,
          expected,
        );
        return verdict.status === 'holds'
          ? { status: 'conflict', current: verdict.current }
          : verdict;
      }
      from = undefined;
    }
  }

  /** Filter of a conditional write: the id, the write scope and the conditions. */
  #writeFilter(
    scope: WriteScope,
    id: string,
    expectedRevision: number | undefined,
    expected: Expected | undefined,
  ): Filter<StoredDocument> {
    const clauses: Document[] = [{ _id: { $eq: id } }, ...writeScopeClauses(scope)];
    if (expectedRevision !== undefined) clauses.push({ revision: { $eq: expectedRevision } });
    for (const [field, allowed] of Object.entries(expected ?? {})) {
      clauses.push({ [this.#deps.layout.path(field)]: { $in: [...allowed] } });
    }
    return allOf(clauses);
  }

  /**
   * Whether a conditional write may apply to record `id` as it is now (one read): not
   * found (or out of scope, or deleted), a conflict with the record as it is, or `holds`.
   */
  async #verdict(
    scope: WriteScope,
    id: string,
    expectedRevision: number | undefined,
    expected: Expected | undefined,
  ): Promise<Verdict> {
    return this.#judge(await this.#deps.read(id), scope, expectedRevision, expected);
  }

  /** The verdict on a document already read. */
  #judge(
    doc: Document | null,
    scope: WriteScope,
    expectedRevision: number | undefined,
    expected: Expected | undefined,
  ): Verdict {
    if (doc === null) return { status: 'not-found' };
    const current = this.#deps.layout.fromDocument(doc);
    if (!inWriteScope(current, scope)) return { status: 'not-found' };
    const holds = meetsConditions(current, expectedRevision, expected);
    return { status: holds ? 'holds' : 'conflict', current };
  }
}
