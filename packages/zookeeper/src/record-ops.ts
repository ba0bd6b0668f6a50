import { randomBytes } from 'node:crypto';
import { InvalidInputError } from '@polystore/core';
import type { StoredRecord } from '@polystore/core/adapter';
import type { ResourceLayout } from './layout.js';
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

  constructor(layout: ResourceLayout, maxRecordBytes: number) {
    this.#layout = layout;
    this.#maxRecordBytes = maxRecordBytes;
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
      ...this.#layout.indexEntries(record, token).map((path): ZkOp => ({ type: 'create', path })),
      ...this.#layout
        .uniqueEntries(record)
        .map((u): ZkOp => ({ type: 'create', path: u.path, data: Buffer.from(record.id) })),
    ];
  }

  /**
   * The ops that take a record from the state read (`cur`) to `next`: its data at the
   * version read, and the index and unique znodes that change. When its membership znode
   * stays, the multi `check`s it, so a state of an earlier incarnation of the id is refused.
   */
  replace(cur: VersionedRecord, next: StoredRecord): ZkOp[] {
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
      ...this.#indexChanges(cur.record, next, cur.token),
    ];
  }

  /** The ops that remove a record (at its version) with all its index and unique znodes. */
  hardDelete(cur: VersionedRecord): ZkOp[] {
    return [
      { type: 'remove', path: this.#layout.record(cur.record.id), version: cur.version },
      ...this.#layout
        .indexEntries(cur.record, cur.token)
        .map((path): ZkOp => ({ type: 'remove', path, version: -1 })),
      ...this.#layout
        .uniqueEntries(cur.record)
        .map((u): ZkOp => ({ type: 'remove', path: u.path, version: -1 })),
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
      const name = op.path.slice(layout.unique.length + 1).split('/')[0];
      return layout.resource.unique.find((u) => u.join('+') === name);
    };
  }

  /** The index and unique znode ops that take a record from `before` to `after`. */
  #indexChanges(before: StoredRecord, after: StoredRecord, token: string): ZkOp[] {
    const ops: ZkOp[] = [];
    const diff = (old: readonly string[], now: readonly string[], data: Buffer | undefined) => {
      const keep = new Set(now);
      const had = new Set(old);
      for (const p of old) if (!keep.has(p)) ops.push({ type: 'remove', path: p, version: -1 });
      for (const p of now)
        if (!had.has(p))
          ops.push(data ? { type: 'create', path: p, data } : { type: 'create', path: p });
    };
    diff(
      this.#layout.indexEntries(before, token),
      this.#layout.indexEntries(after, token),
      undefined,
    );
    diff(
      this.#layout.uniqueEntries(before).map((u) => u.path),
      this.#layout.uniqueEntries(after).map((u) => u.path),
      Buffer.from(after.id),
    );
    return ops;
  }
}
