import { randomBytes } from 'node:crypto';
import { InvalidInputError } from '@polystore/core';
import { type SchemaElements, type StoredRecord, uniqueKey } from '@polystore/core/adapter';
import type { ResourceLayout, UniqueEntry } from './layout.js';
import type { VersionedRecord } from './record-cache.js';
import type { ZkOp } from './zookeeper-client.js';

/** The key of the incarnation token in a record znode's JSON (not a legal field name). */
const TOKEN_KEY = '$token';

/** A new incarnation token (see `ResourceLayout.stateEntry`). */
export function newToken(): string {
  return randomBytes(6).toString('base64url');
}

/**
 * The znode data of one resource's records and the ops of a multi that write them: the
 * record znode with every index and unique znode it has, so each mutation is one multi.
 */
export class RecordOps {
  readonly #layout: ResourceLayout;
  readonly #maxRecordBytes: number;
  /** The indexed fields of the entries: this definition's and those the store applied. */
  #fields: readonly string[];
  /** The unique constraints of the entries: this definition's and those the store applied. */
  #uniques: readonly (readonly string[])[];

  constructor(layout: ResourceLayout, maxRecordBytes: number) {
    this.#layout = layout;
    this.#maxRecordBytes = maxRecordBytes;
    this.#fields = layout.indexedFields;
    this.#uniques = layout.resource.unique;
  }

  /**
   * Adds the indexes and unique constraints the store records as applied (`expand` by
   * newer code) to those this definition maintains, so an older client keeps their
   * entries too and honours a unique constraint added later.
   */
  useApplied(applied: SchemaElements): void {
    const fields = new Set(this.#layout.indexedFields);
    for (const i of applied.indexes) fields.add(i.field);
    const uniques = new Map(this.#layout.resource.unique.map((u) => [uniqueKey(u), u]));
    for (const u of applied.uniques) if (!uniques.has(uniqueKey(u))) uniques.set(uniqueKey(u), u);
    this.#fields = [...fields];
    this.#uniques = [...uniques.values()];
  }

  /** The indexed fields whose entries writes maintain. */
  get fields(): readonly string[] {
    return this.#fields;
  }

  /** The unique constraints whose entries writes maintain. */
  get uniques(): readonly (readonly string[])[] {
    return this.#uniques;
  }

  #indexEntries(record: StoredRecord, token: string): string[] {
    return this.#layout.indexEntries(record, token, this.#fields);
  }

  #uniqueEntries(record: StoredRecord): UniqueEntry[] {
    return this.#layout.uniqueEntries(record, this.#uniques);
  }

  /** A record's znode data; refuses records over the declared size before anything is written. */
  encode(record: StoredRecord, token: string): Buffer {
    const data = Buffer.from(JSON.stringify({ ...record, [TOKEN_KEY]: token }), 'utf8');
    // The limit is on the record as core measures it (its JSON), not on the token added here.
    const bytes =
      data.length - Buffer.byteLength(`,${JSON.stringify(TOKEN_KEY)}:${JSON.stringify(token)}`);
    if (bytes > this.#maxRecordBytes) {
      throw new InvalidInputError(this.#layout.resource.name, [
        {
          field: 'values',
          message: `record is ${bytes} bytes, more than the backend's limit of ${this.#maxRecordBytes}`,
        },
      ]);
    }
    return data;
  }

  /** The record and incarnation token of a record znode's data at `version`. */
  decode(data: Buffer, version: number): VersionedRecord {
    const { [TOKEN_KEY]: token, ...record } = JSON.parse(data.toString('utf8')) as StoredRecord & {
      [TOKEN_KEY]: string;
    };
    return { record: record as StoredRecord, version, token };
  }

  /** The ops that create a record with all its index and unique znodes; the record's create comes first. */
  insert(record: StoredRecord, token: string = newToken()): ZkOp[] {
    const data = this.encode(record, token);
    return [
      { type: 'create', path: this.#layout.record(record.id), data },
      ...this.#indexEntries(record, token).map((path): ZkOp => ({ type: 'create', path })),
      ...this.#uniqueEntries(record).map(
        (u): ZkOp => ({ type: 'create', path: u.path, data: Buffer.from(record.id) }),
      ),
    ];
  }

  /**
   * The ops that take a record from the state read (`cur`) to `next`: its data at the
   * version read, and the index and unique znodes that change. When its membership znode
   * stays, the multi `check`s it, so a state of an earlier incarnation of the id is refused.
   * `present`: the entries of both states found to exist (see {@link entryPaths}); given
   * after a multi failed on an entry (one an older or newer definition left or never
   * made), only those are removed and only the missing ones created.
   */
  replace(cur: VersionedRecord, next: StoredRecord, present?: ReadonlySet<string>): ZkOp[] {
    const before = this.#layout.stateEntry(cur.record, cur.token);
    const after = this.#layout.stateEntry(next, cur.token);
    return [
      {
        type: 'set',
        path: this.#layout.record(cur.record.id),
        data: this.encode(next, cur.token),
        version: cur.version,
      },
      ...(before === after ? [{ type: 'check', path: before, version: -1 } as const] : []),
      ...this.#indexChanges(cur.record, next, cur.token, present),
    ];
  }

  /**
   * The ops that remove a record (at its version) with all its index and unique znodes
   * (with `present`, those found to exist: see {@link replace}).
   */
  hardDelete(cur: VersionedRecord, present?: ReadonlySet<string>): ZkOp[] {
    const there = (p: string) => present === undefined || present.has(p);
    return [
      { type: 'remove', path: this.#layout.record(cur.record.id), version: cur.version },
      ...this.#indexEntries(cur.record, cur.token)
        .filter(there)
        .map((path): ZkOp => ({ type: 'remove', path, version: -1 })),
      ...this.#uniqueEntries(cur.record)
        .filter((u) => there(u.path))
        .map((u): ZkOp => ({ type: 'remove', path: u.path, version: -1 })),
    ];
  }

  /** The index and unique znodes this definition gives a record (to probe which exist). */
  entryPaths(record: StoredRecord, token: string): string[] {
    return [
      ...this.#indexEntries(record, token),
      ...this.#uniqueEntries(record).map((u) => u.path),
    ];
  }

  /**
   * The ops of `rewrite`: the record's data at the version read, the entries found
   * (`found`, whatever definition made them) that the new state lacks removed, and every
   * entry of the new state under `fields` and `uniques` that is not there created.
   */
  rewrite(
    cur: VersionedRecord,
    next: StoredRecord,
    found: readonly string[],
    fields: readonly string[],
    uniques: readonly (readonly string[])[],
  ): ZkOp[] {
    const index = this.#layout.indexEntries(next, cur.token, fields);
    const unique = this.#layout.uniqueEntries(next, uniques).map((u) => u.path);
    const keep = new Set([...index, ...unique]);
    const had = new Set(found);
    const data = Buffer.from(next.id);
    return [
      {
        type: 'set',
        path: this.#layout.record(cur.record.id),
        data: this.encode(next, cur.token),
        version: cur.version,
      },
      ...found
        .filter((p) => !keep.has(p))
        .map((path): ZkOp => ({ type: 'remove', path, version: -1 })),
      ...index.filter((p) => !had.has(p)).map((path): ZkOp => ({ type: 'create', path })),
      ...unique.filter((p) => !had.has(p)).map((path): ZkOp => ({ type: 'create', path, data })),
    ];
  }

  /**
   * For `toCoreError`: the fields of the unique constraint whose znode the op at an index
   * of `ops` creates (`['id']` for a record znode of this resource), else `undefined`.
   */
  uniqueAt(ops: readonly ZkOp[]): (index: number) => readonly string[] | undefined {
    const layout = this.#layout;
    return (index) => {
      const op = ops[index];
      if (op?.type !== 'create') return undefined;
      if (op.path.startsWith(`${layout.records}/`)) return ['id'];
      if (!op.path.startsWith(`${layout.unique}/`)) return undefined;
      // Any constraint's directory, this definition's or one `expand` added.
      return op.path
        .slice(layout.unique.length + 1)
        .split('/')[0]!
        .split('+');
    };
  }

  /** The index and unique znode ops that take a record from `before` to `after` (see {@link replace} for `present`). */
  #indexChanges(
    before: StoredRecord,
    after: StoredRecord,
    token: string,
    present: ReadonlySet<string> | undefined,
  ): ZkOp[] {
    const ops: ZkOp[] = [];
    const diff = (old: readonly string[], now: readonly string[], data: Buffer | undefined) => {
      const keep = new Set(now);
      const had = present ?? new Set(old);
      for (const p of old)
        if (!keep.has(p) && had.has(p)) ops.push({ type: 'remove', path: p, version: -1 });
      for (const p of now)
        if (!had.has(p))
          ops.push(data ? { type: 'create', path: p, data } : { type: 'create', path: p });
    };
    diff(this.#indexEntries(before, token), this.#indexEntries(after, token), undefined);
    diff(
      this.#uniqueEntries(before).map((u) => u.path),
      this.#uniqueEntries(after).map((u) => u.path),
      Buffer.from(after.id),
    );
    return ops;
  }
}
