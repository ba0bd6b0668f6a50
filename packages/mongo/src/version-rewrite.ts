import { DuplicateError } from '@polystore/core';
import type { StoredRecord, VersionPage, WriteOutcome } from '@polystore/core/adapter';
import type { Collection, Document } from 'mongodb';
import pMap from 'p-map';
import { isDuplicateKeyError, mapErrors, serverError, toCoreError } from './errors.js';
import { command } from './fail-fast.js';
import type { MongoLayout, StoredDocument } from './layout.js';
import { allOf } from './mongo-filter.js';
import type { RecordClaims } from './record-claims.js';
import type { UniqueClash } from './unique-clash.js';

/**
 * Records `rewriteMany` claims, reads and writes together under claims. A batch holds its
 * records' steps until its bulk write ends, and writers of those records wait that out: on
 * FerretDB v1 on SQLite every update reads the whole table (its `_id` index is not used),
 * so 25 updates take a second or two at 10k records; far below the claims' staleness.
 */
const REWRITE_BATCH = 25;
/** How often one batch of `rewriteMany` is written again after a record of it was refused. */
const MAX_BATCH_ATTEMPTS = 5;
/** `rewrite`s of `rewriteMany` in flight without claims (each one command on MongoDB). */
const REWRITES_IN_FLIGHT = 16;

/** One record of `rewriteMany`: the whole new record and the revision it must be at. */
export interface RecordRewrite {
  readonly record: StoredRecord;
  readonly expectedRevision: number;
}

/** What {@link VersionRewrite} uses of its resource driver. */
export interface VersionRewriteDeps {
  readonly layout: MongoLayout;
  readonly collection: Collection<StoredDocument>;
  /** Makes the rewrites exclusive across processes (`claimWrites`), or none. */
  readonly claims: RecordClaims | undefined;
  /** Names the unique constraint a refused rewrite broke. */
  readonly clashes: UniqueClash;
  /** Runs a call under the fail-fast bound (`rewriteMany` bounds each batch). */
  bounded<T>(what: string, run: () => Promise<T>): Promise<T>;
  /** The driver's own `rewrite`: bounded, under the record's lock when writes are serialised. */
  rewrite(record: StoredRecord, expectedRevision: number): Promise<WriteOutcome>;
  /** Record `id` as stored, whatever its scope and state (one read). */
  read(id: string): Promise<Document | null>;
}

/**
 * The evolution SPI of a Mongo resource driver (`countByVersion`, `scanVersion`,
 * `rewrite`, `rewriteMany`): counts by the `objectVersion` index, pages in id order, and
 * rewrites that replace a whole document at its expected revision, claimed on FerretDB
 * like every conditional write. The driver bounds each call by the fail-fast deadline and
 * runs `rewrite` under the record's lock (`rewriteMany` bounds each batch).
 */
export class VersionRewrite {
  readonly #deps: VersionRewriteDeps;

  constructor(deps: VersionRewriteDeps) {
    this.#deps = deps;
  }

  /** One `$group` over the `objectVersion` index: no record is read by this process. */
  async countByVersion(): Promise<Record<string, number>> {
    const groups = await mapErrors(`countByVersion ${this.#deps.layout.collection}`, () =>
      this.#deps.collection
        .aggregate<{ _id: unknown; n: number }>([
          { $group: { _id: '$objectVersion', n: { $sum: 1 } } },
        ])
        .toArray(),
    );
    const out: Record<string, number> = {};
    for (const g of groups) if (typeof g._id === 'string' && g.n > 0) out[g._id] = g.n;
    return out;
  }

  /** A page of the records stored at `version` (any project, live or deleted), by id. */
  async scanVersion(
    version: string,
    after: string | undefined,
    limit: number,
  ): Promise<VersionPage> {
    const clauses: Document[] = [{ objectVersion: { $eq: version } }];
    if (after !== undefined) clauses.push({ _id: { $gt: after } });
    const docs = await mapErrors(`scanVersion ${this.#deps.layout.collection}`, () =>
      this.#deps.collection
        .find(allOf(clauses))
        .sort({ _id: 1 })
        .limit(limit)
        .batchSize(limit)
        .toArray(),
    );
    const records = docs.map((d) => this.#deps.layout.fromDocument(d));
    return { records, after: records.length === limit ? records.at(-1)?.id : undefined };
  }

  /**
   * Replaces the whole document (one `findOneAndReplace` by id and revision, claimed on
   * FerretDB like every conditional write), markers included: the server's indexes then
   * hold exactly the new record's entries, whatever the old document carried. Neither
   * bounded nor under the record's lock: the driver's `rewrite` adds both.
   */
  async rewrite(record: StoredRecord, expectedRevision: number): Promise<WriteOutcome> {
    const id = record.id;
    const doc = this.#deps.layout.toReplacement({ ...record, revision: expectedRevision + 1 });
    const filter = allOf([{ _id: { $eq: id } }, { revision: { $eq: expectedRevision } }]);
    const write = () =>
      command(() =>
        this.#deps.collection.findOneAndReplace(filter, doc, { returnDocument: 'after' }),
      );
    let written: Document | null;
    try {
      if (this.#deps.claims) {
        const got = await this.#deps.claims.acquire(
          this.#deps.layout.collection,
          id,
          expectedRevision,
          () => this.#deps.read(id),
          (state) => (state === null ? undefined : (state.revision as number)),
        );
        if (!('claim' in got)) return this.#rewriteRefused(got.moved);
        try {
          written = await write();
        } catch (err) {
          // As in `#claimedWrite`: a refusal frees the step, an unknown fate keeps it held.
          if (serverError(err) !== undefined) await got.claim.release(false);
          else got.claim.abandon();
          throw err;
        }
        await got.claim.release(written !== null);
      } else {
        written = await write();
      }
    } catch (err) {
      if (!isDuplicateKeyError(err))
        throw toCoreError(err, { operation: `rewrite ${this.#deps.layout.collection}` });
      throw new DuplicateError(
        this.#deps.layout.resource.name,
        await this.#deps.clashes.ofRewrite(record),
      );
    }
    if (written !== null) return { status: 'ok', record: this.#deps.layout.fromDocument(written) };
    return this.#rewriteRefused(await this.#deps.read(id));
  }

  /**
   * `rewrite` of many records. With claimed writes (FerretDB v1), {@link REWRITE_BATCH} at a
   * time in a few commands: every step claimed in one insert, the records read by id, and
   * those still at their expected revision replaced in one bulk write whose filters are
   * plain ids. The claims make that safe (no other writer can move a record off a revision
   * whose step this process holds) and plain-id filters are the only ones FerretDB v1 hands
   * to its storage (any other filter reads the whole collection into FerretDB per command).
   * Without claims, {@link REWRITES_IN_FLIGHT} `rewrite`s at a time. The ids rewritten are
   * returned; the others (a step another process holds, a unique clash, a record moved on)
   * are the caller's to `rewrite` one by one.
   */
  async rewriteMany(rewrites: readonly RecordRewrite[]): Promise<readonly string[]> {
    const claims = this.#deps.claims;
    const done: string[] = [];
    if (claims === undefined) {
      const outcomes = await pMap(
        rewrites,
        ({ record, expectedRevision }) =>
          this.#deps.rewrite(record, expectedRevision).catch((err: unknown) => {
            // A unique clash: left for the caller's own rewrite, which reports it.
            if (err instanceof DuplicateError) return undefined;
            throw err;
          }),
        { concurrency: REWRITES_IN_FLIGHT },
      );
      return rewrites.filter((_, i) => outcomes[i]?.status === 'ok').map((r) => r.record.id);
    }
    for (let i = 0; i < rewrites.length; i += REWRITE_BATCH) {
      const batch = rewrites.slice(i, i + REWRITE_BATCH);
      done.push(
        ...(await this.#deps.bounded('rewriteMany', () => this.#rewriteClaimed(claims, batch))),
      );
    }
    return done;
  }

  /** One batch of {@link rewriteMany} under claims. */
  async #rewriteClaimed(
    claims: RecordClaims,
    rewrites: readonly RecordRewrite[],
  ): Promise<string[]> {
    const collection = this.#deps.layout.collection;
    const held = await claims.acquireMany(
      collection,
      rewrites.map((r) => ({ id: r.record.id, from: r.expectedRevision })),
    );
    const claimed = rewrites.filter((r) => held.has(r.record.id));
    const claimOf = (r: { readonly record: StoredRecord }) => held.get(r.record.id)!;
    let ready: typeof claimed;
    try {
      const current = await this.#revisions(claimed.map((r) => r.record.id));
      ready = claimed.filter((r) => current.get(r.record.id) === r.expectedRevision);
    } catch (err) {
      await claims.releaseMany([], [...held.values()]);
      throw err;
    }
    const written = new Set<string>();
    let left = ready;
    for (let attempt = 0; left.length > 0 && attempt < MAX_BATCH_ATTEMPTS; attempt++) {
      // Plain string ids: a string is never read as an operator.
      const ops = left.map((r) => ({
        replaceOne: {
          filter: { _id: r.record.id },
          replacement: this.#deps.layout.toReplacement({
            ...r.record,
            revision: r.expectedRevision + 1,
          }),
        },
      }));
      try {
        await command(() => this.#deps.collection.bulkWrite(ops, { ordered: false }));
        for (const r of left) written.add(r.record.id);
        break;
      } catch (err) {
        if (serverError(err) === undefined) {
          // Timed out or cut off: the server may still run it; keep the claims held.
          claims.abandonMany([...held.values()]);
          throw toCoreError(err, { operation: `rewriteMany ${collection}` });
        }
        // Refused part-way: FerretDB v1 stops a bulk write at the first broken unique index
        // (whatever `ordered` says). The records that moved on are those written (no one
        // else could move them); the first that did not is the one refused: left out, and
        // the rest written again.
        const after = await this.#revisions(left.map((r) => r.record.id)).catch(
          (readErr: unknown) => {
            claims.abandonMany([...held.values()]);
            throw readErr;
          },
        );
        const moved = (r: (typeof left)[number]) =>
          (after.get(r.record.id) ?? r.expectedRevision) > r.expectedRevision;
        for (const r of left) if (moved(r)) written.add(r.record.id);
        const refused = left.findIndex((r) => !moved(r));
        left = left.slice(refused + 1).filter((r) => !moved(r));
      }
    }
    await claims.releaseMany(
      claimed.filter((r) => written.has(r.record.id)).map(claimOf),
      claimed.filter((r) => !written.has(r.record.id)).map(claimOf),
    );
    return [...written];
  }

  /** The revisions of the records among `ids` that exist (one read). */
  async #revisions(ids: readonly string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const docs = await mapErrors(`read ${this.#deps.layout.collection}`, () =>
      this.#deps.collection
        .find({ _id: { $in: [...ids] } }, { projection: { revision: 1 } })
        .batchSize(ids.length)
        .toArray(),
    );
    return new Map(docs.map((d) => [d._id as string, d.revision as number]));
  }

  /** Why a rewrite did not apply, from the document as it is: gone, or at another revision. */
  #rewriteRefused(doc: Document | null): WriteOutcome {
    return doc === null
      ? { status: 'not-found' }
      : { status: 'conflict', current: this.#deps.layout.fromDocument(doc) };
  }
}
