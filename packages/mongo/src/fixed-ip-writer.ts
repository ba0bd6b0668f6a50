import type { DeleteChange, StoredRecord, WriteOutcome, WriteScope } from '@polystore/core/adapter';
import type { Collection } from 'mongodb';
import { mapErrors } from './errors.js';
import type { MongoLayout, StoredDocument } from './layout.js';
import { allOf, writeScopeClauses } from './mongo-filter.js';

/**
 * The driver of the `fixedIp` resource as the address allocator sees it. Internal: only
 * `MongoAddressAllocator` uses it, and it is no part of the `ResourceDriver` API.
 */
export interface FixedIpWriter {
  /** Runs one allocator call within the driver's fail-fast bound (see `bounded`). */
  bounded<T>(what: string, run: () => Promise<T>): Promise<T>;
  /** Inserts a record; `false` when a unique index (the `_id` one included) refused it. */
  tryInsert(record: StoredRecord): Promise<boolean>;
  /** The addresses of the live fixed IPs of network `networkId`, and whether `id` is taken. */
  taken(networkId: string, id: string): Promise<{ addresses: Set<string>; idTaken: boolean }>;
  /** Releases every live fixed IP of the write scope held by `instanceId`; returns how many. */
  releaseAllForInstance(scope: WriteScope, instanceId: string, at: string): Promise<number>;
}

/** What {@link fixedIpWriter} uses of the `fixedIp` driver. */
export interface FixedIpWriterDeps {
  readonly layout: MongoLayout;
  readonly collection: Collection<StoredDocument>;
  /**
   * Whether each write takes its record's lock or claim (`serializeWrites`, `claimWrites`),
   * so a release cannot be one `deleteMany`.
   */
  readonly guarded: boolean;
  /** Runs one call within the driver's fail-fast bound (see `bounded`). */
  bounded<T>(what: string, run: () => Promise<T>): Promise<T>;
  /** Inserts a record; `false` when a unique index (the `_id` one included) refused it. */
  tryInsert(record: StoredRecord): Promise<boolean>;
  /** The driver's own conditional `delete`. */
  delete(scope: WriteScope, id: string, change: DeleteChange): Promise<WriteOutcome>;
}

/** The {@link FixedIpWriter} over the `fixedIp` driver `deps` describes. */
export function fixedIpWriter(deps: FixedIpWriterDeps): FixedIpWriter {
  return {
    bounded: (what, run) => deps.bounded(what, run),
    tryInsert: (record) => deps.tryInsert(record),
    taken: (networkId, id) => liveValues(deps, 'address', 'networkId', networkId, id),
    releaseAllForInstance: (scope, instanceId, at) =>
      deps.bounded('deleteAll', () => deleteAllWhere(deps, scope, 'instanceId', instanceId, at)),
  };
}

/**
 * Releases (removes, or soft-deletes) every live record of the write scope whose
 * `field` equals `value`; returns how many. Not atomic as a whole (MongoDB has no
 * multi-document atomicity without transactions), but idempotent.
 */
async function deleteAllWhere(
  deps: FixedIpWriterDeps,
  scope: WriteScope,
  field: string,
  value: string,
  at: string,
): Promise<number> {
  const filter = allOf([
    { [deps.layout.path(field)]: { $eq: value } },
    ...writeScopeClauses(scope),
  ]);
  const operation = `deleteAll ${deps.layout.collection}`;
  if (!deps.layout.resource.softDelete && !deps.guarded) {
    // One deleteMany over live records only: cut short by a crash, it has removed some of
    // them and left the rest live, so calling it again finishes the job.
    const res = await mapErrors(operation, () => deps.collection.deleteMany(filter));
    return res.deletedCount;
  }
  // Record by record: a soft delete marks each record with its own id (the unique-index
  // marker), which one updateMany cannot do, and serialised or claimed writes take each
  // record's lock or claim. Each step touches live records only, so a run cut short (a crash, a timeout)
  // is finished by running it again.
  const ids = await mapErrors(operation, () =>
    deps.collection.find(filter, { projection: { _id: 1 } }).toArray(),
  );
  let n = 0;
  for (const { _id } of ids) {
    const soft = deps.layout.resource.softDelete;
    const outcome = await deps.delete(scope, _id, { soft, at, expectedRevision: undefined });
    if (outcome.status === 'ok') n++;
  }
  return n;
}

/** The addresses (values of `field`) of live records whose `groupField` is `group`, and whether `id` is taken. */
async function liveValues(
  deps: FixedIpWriterDeps,
  field: string,
  groupField: string,
  group: string,
  id: string,
): Promise<{ addresses: Set<string>; idTaken: boolean }> {
  const filter = allOf([
    { $or: [{ _id: { $eq: id } }, { [groupField]: { $eq: group }, deletedAt: { $eq: null } }] },
  ]);
  const docs = await mapErrors(`read ${deps.layout.collection}`, () =>
    deps.collection
      .find(filter, { projection: { _id: 1, [field]: 1, [groupField]: 1, deletedAt: 1 } })
      .toArray(),
  );
  const values = new Set<string>();
  let idTaken = false;
  for (const d of docs) {
    if (d._id === id) idTaken = true;
    if (d[groupField] === group && d.deletedAt === null) values.add(d[field] as string);
  }
  return { addresses: values, idTaken };
}
