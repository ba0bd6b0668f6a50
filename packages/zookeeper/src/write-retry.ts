import { DuplicateError, UnavailableError } from '@polystore/core';
import {
  inWriteScope,
  meetsConditions,
  type StoredRecord,
  type WriteOutcome,
  type WriteScope,
} from '@polystore/core/adapter';
import { presentEntries, releaseStaleUnique } from './entry-probe.js';
import { toCoreError, ZK, ZkOpError } from './errors.js';
import type { ResourceLayout } from './layout.js';
import type { RecordCache, VersionedRecord } from './record-cache.js';
import type { RecordOps } from './record-ops.js';
import type { ZkOp, ZooKeeperClient } from './zookeeper-client.js';

/** How often a write is tried again after losing a race while its conditions still hold. */
const MAX_ATTEMPTS = 50;

/** What the retry loop works with: one resource's records, as its driver has them. */
export interface WriteTarget {
  readonly client: ZooKeeperClient;
  readonly layout: ResourceLayout;
  readonly ops: RecordOps;
  readonly cache: RecordCache;
  /** Reads a record with its znode version (and remembers it). */
  read(id: string): Promise<VersionedRecord | undefined>;
  /**
   * The check of the store's schema znode each multi ends with (empty when none is known);
   * with `writesAt`, first refuses a write at an object version below the write floor
   * (`WriteBelowPinError`, see `ResourceSchema.check`).
   */
  schemaCheck(writesAt?: string): ZkOp[];
  /** Reads the store's applied elements again (the schema check failed: it changed). */
  loadSchema(): Promise<void>;
}

/** One conditional write of a record. */
export interface ConditionalWrite {
  /** `update` or `delete`, for the error after too many lost races. */
  readonly what: string;
  readonly id: string;
  readonly scope: WriteScope;
  readonly expectedRevision: number | undefined;
  readonly expected: Readonly<Record<string, readonly unknown[]>> | undefined;
  /**
   * The object version the write leaves the record at, checked against the write floor
   * (an update's); absent for a write the floor lets through (a delete).
   */
  readonly writesAt?: string;
  /**
   * The state after the write (`null`: the record is removed) and the multi that makes it;
   * with `present`, the entries of both states found to exist (`RecordOps.replace`).
   */
  build(
    cur: VersionedRecord,
    present?: ReadonlySet<string>,
  ): { readonly next: StoredRecord | null; readonly ops: ZkOp[] };
}

/**
 * The optimistic write: start from the remembered state (or read it), check scope and
 * conditions in process, then one multi guarded by the znode version read. A refused
 * version check means the record changed: read it again and retry while the conditions
 * hold. Outcomes other than `ok` are only ever decided on a fresh read, never on a
 * remembered state. Once a multi failed on an index or unique znode (an entry an older or
 * newer definition left, or one it never made), the next attempts probe which entries of
 * the record exist and build the multi from those. Each multi also checks the version of
 * the store's schema znode, so a write never misses an element `expand` applied meanwhile.
 */
export async function writeWithRetry(
  target: WriteTarget,
  write: ConditionalWrite,
): Promise<WriteOutcome> {
  const { id } = write;
  let fresh = false;
  let probe = false;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const cached = fresh ? undefined : target.cache.get(id);
    const cur = cached ?? (await target.read(id));
    fresh = true;
    if (!cur) return { status: 'not-found' };
    if (!inWriteScope(cur.record, write.scope)) {
      if (cached) continue;
      return { status: 'not-found' };
    }
    if (!meetsConditions(cur.record, write.expectedRevision, write.expected)) {
      if (cached) continue;
      return { status: 'conflict', current: cur.record };
    }
    let { next, ops } = write.build(cur);
    if (probe) {
      const paths = target.ops.entryPaths(cur.record, cur.token);
      if (next) paths.push(...target.ops.entryPaths(next, cur.token));
      ({ next, ops } = write.build(
        cur,
        await presentEntries(target.client, target.layout, id, paths),
      ));
    }
    // Built last, with no wait after it: the floor it checks is the one its version guards.
    const check = target.schemaCheck(write.writesAt);
    const outcome = await tryWrite(target, id, [...ops, ...check]);
    if (outcome === 'schema') await target.loadSchema();
    if (outcome === 'entry') probe = true;
    if (outcome === 'ok') {
      if (next === null) {
        target.cache.delete(id);
        return { status: 'ok', record: cur.record };
      }
      target.cache.set({ record: next, version: cur.version + 1, token: cur.token });
      return { status: 'ok', record: next };
    }
  }
  throw new UnavailableError(
    `zookeeper: ${target.layout.resource.name} ${id}: ${write.what} lost ${MAX_ATTEMPTS} races in a row`,
  );
}

/**
 * Commits a write built on a read state: `ok` when applied, `stale` when the record
 * changed meanwhile, `entry` when an op on one of its index or unique znodes failed (read
 * again and retry, probing the entries). A taken unique value is a `DuplicateError`.
 */
async function tryWrite(
  target: WriteTarget,
  id: string,
  ops: readonly ZkOp[],
): Promise<'ok' | 'stale' | 'entry' | 'schema'> {
  try {
    await target.client.commit(ops);
    return 'ok';
  } catch (err) {
    if (!(err instanceof ZkOpError) || err.index === undefined) throw toCoreError(err);
    if (err.index === ops.length - 1 && ops.at(-1)?.path === target.layout.schema) {
      return 'schema';
    }
    if (err.code === ZK.NODE_EXISTS && err.index > 0) {
      const op = ops[err.index];
      if (
        op?.type === 'create' &&
        op.path.startsWith(`${target.layout.unique}/`) &&
        (await releaseStaleUnique(
          target.client,
          target.layout,
          (data) => target.ops.decode(data, 0).record,
          op.path,
        ))
      ) {
        return 'stale';
      }
      const mapped = toCoreError(err, {
        resource: target.layout.resource.name,
        uniqueAt: target.ops.uniqueAt(ops),
      });
      if (mapped instanceof DuplicateError) throw mapped;
    }
    // The version check failed, or an index entry of the state read is gone: it was stale.
    target.cache.delete(id);
    return err.index > 0 ? 'entry' : 'stale';
  }
}
