import type { Capabilities } from './capabilities.js';
import type { ListQuery, Predicate } from './query/query.js';
import type { SchemaElements } from './schema/elements.js';
import type { AnyResource, RecordMeta } from './schema/resource.js';
import type { ReadScope, WriteScope } from './scope.js';

/**
 * A stored record as adapters hand it over: system fields plus the resource's fields,
 * every field present (nullable ones as `null`). Core freezes it and puts keys in order.
 */
export type StoredRecord = RecordMeta & Record<string, unknown>;

/** A write of `update` as the adapter must apply it, atomically with its conditions. */
export interface UpdateChange {
  /** New values of the changed fields (validated and normalised). */
  readonly set: Readonly<Record<string, unknown>>;
  /** The new `updatedAt`. */
  readonly updatedAt: string;
  /** The object version the record is written at. */
  readonly objectVersion: string;
  /** The write applies only if the record is at this revision. */
  readonly expectedRevision: number | undefined;
  /** The write applies only if each field holds one of the listed values. */
  readonly expected: Readonly<Record<string, readonly unknown[]>> | undefined;
}

/** A delete as the adapter must apply it. */
export interface DeleteChange {
  /** Soft delete (set `deletedAt`, bump revision) or remove the record. */
  readonly soft: boolean;
  /** The `deletedAt` (and `updatedAt`) of a soft delete. */
  readonly at: string;
  /** The delete applies only if the record is at this revision. */
  readonly expectedRevision: number | undefined;
  /**
   * The delete applies only if each field holds one of the listed values, checked as
   * `UpdateChange.expected` is (core passes `{ objectVersion: [...] }`, so a record this
   * code cannot read is refused before it is deleted). Absent: no condition.
   */
  readonly expected?: Readonly<Record<string, readonly unknown[]>>;
}

/**
 * The outcome of a conditional write: the record written, or why not.
 * `conflict` carries the record as it is now, so core can say which condition failed.
 */
export type WriteOutcome =
  | { readonly status: 'ok'; readonly record: StoredRecord }
  | { readonly status: 'not-found' }
  | { readonly status: 'conflict'; readonly current: StoredRecord };

/** One page of {@link EvolutionDriver.scanVersion}. */
export interface VersionPage {
  /** The records of the page, in ascending id order (code point order). */
  readonly records: readonly StoredRecord[];
  /** The id to pass as `after` for the next page; `undefined` when there is none. */
  readonly after: string | undefined;
}

/**
 * What an adapter adds per resource for schema evolution (the runner that moves records
 * from one object version to the next, and `polystore migrate status`). These operations
 * ignore scopes: they see every project's records, live and soft-deleted.
 *
 * Optional on {@link ResourceDriver} for now so that adapters without it still compile;
 * they become required once every built-in adapter implements them. Callers test for them
 * with {@link supportsEvolution}.
 *
 * @example
 * ```ts
 * const counts = await driver.countByVersion(); // { '1.0': 120, '1.1': 3 }
 * let after: string | undefined;
 * do {
 *   const page = await driver.scanVersion('1.0', after, 100);
 *   for (const r of page.records) {
 *     const next = { ...r, ...upgradeFields('gadget', history, r, '1.0', '1.1'), objectVersion: '1.1' };
 *     await driver.rewrite(next, r.revision); // a conflict: someone wrote it meanwhile, read again
 *   }
 *   after = page.after;
 * } while (after !== undefined);
 * ```
 */
export interface EvolutionDriver {
  /**
   * How many records (every project, live and soft-deleted) are stored at each
   * `objectVersion`; versions with no record are absent. Answered without reading the
   * records where the backend can (an index, a counter, a set size).
   */
  countByVersion(): Promise<Record<string, number>>;
  /**
   * Up to `limit` records stored at `objectVersion === version` (every project, live and
   * soft-deleted) with an id after `after` (code point order; `undefined`: from the first),
   * in ascending id order. `after` of the result is the last id when the page is full,
   * else `undefined`.
   */
  scanVersion(version: string, after: string | undefined, limit: number): Promise<VersionPage>;
  /**
   * Replaces one whole record (found by `record.id`, in any project, live or soft-deleted)
   * with `record` if it is at `expectedRevision`, storing it at revision
   * `expectedRevision + 1` with every other field as given (`updatedAt` included: the
   * caller decides). Atomically, every index and unique entry of the record is made to
   * match the new record, whatever entries exist now (entries an older or newer
   * definition left included). A unique clash with another live record is `DuplicateError`
   * and changes nothing. `not-found` if no such record, `conflict` with the current record
   * if its revision differs.
   */
  rewrite(record: StoredRecord, expectedRevision: number): Promise<WriteOutcome>;
  /**
   * Optional: {@link rewrite} of many records in as few exchanges as the backend allows
   * (one statement, one script). Each record is rewritten only if it is at its expected
   * revision, exactly as `rewrite` would; the ids of those rewritten are returned. Records
   * not rewritten (a conflict, gone, a unique clash) are left unchanged and the caller
   * handles them one by one with `rewrite`. The live-upgrade engine's migrate uses it when
   * present.
   */
  rewriteMany?(
    rewrites: readonly { readonly record: StoredRecord; readonly expectedRevision: number }[],
  ): Promise<readonly string[]>;
}

/** Whether a driver implements the {@link EvolutionDriver} methods. */
export function supportsEvolution(
  driver: ResourceDriver,
): driver is ResourceDriver & EvolutionDriver {
  return (
    typeof driver.countByVersion === 'function' &&
    typeof driver.scanVersion === 'function' &&
    typeof driver.rewrite === 'function'
  );
}

/**
 * What an adapter implements for each resource: plain storage operations on validated
 * input. Core does validation, ids, timestamps, scoping rules, errors and record shape,
 * so every adapter gets them identically.
 *
 * Rules:
 * - `insert`, `update`, `delete` are atomic with all index entries and unique checks.
 *   Unique constraints (`resource.unique`, and the id) hold among live records; a
 *   violation throws `DuplicateError` naming the constraint's fields.
 * - `update` increments `revision` by exactly one and sets `updatedAt` in the same write.
 * - Reads honour the scope exactly as {@link inReadScope} describes; writes only touch
 *   records that {@link inWriteScope} accepts, else `not-found`.
 * - Backend failures are thrown as `UnavailableError` (or another core error), never raw.
 */
export interface ResourceDriver extends Partial<EvolutionDriver> {
  /** Stores a new record (revision 1). */
  insert(record: StoredRecord): Promise<StoredRecord>;
  /** One record by id within the scope, or `undefined`. */
  get(scope: ReadScope, id: string): Promise<StoredRecord | undefined>;
  /** The records among `ids` within the scope, in any order. */
  getMany(scope: ReadScope, ids: readonly string[]): Promise<StoredRecord[]>;
  /** Records within scope matching `query.where`, after `query.after`, in order, at most `query.limit`. */
  list(scope: ReadScope, query: ListQuery): Promise<StoredRecord[]>;
  /** How many records within scope match `where`. */
  count(scope: ReadScope, where: readonly Predicate[]): Promise<number>;
  /** Applies a conditional update to a live record within the write scope. */
  update(scope: WriteScope, id: string, change: UpdateChange): Promise<WriteOutcome>;
  /** Applies a conditional delete to a live record within the write scope; `ok` carries the last state. */
  delete(scope: WriteScope, id: string, change: DeleteChange): Promise<WriteOutcome>;
  /** Removes soft-deleted records with `deletedAt < before`; returns how many. */
  purge(before: string): Promise<number>;
}

/** The input of an address allocation, validated by core. */
export interface AllocateInput {
  readonly id: string;
  readonly networkId: string;
  readonly instanceId: string | null;
  /** A specific address to take, or `undefined` for the lowest free one. */
  readonly address: string | undefined;
  /** The project the new fixed IP belongs to. */
  readonly projectId: string | null;
  readonly at: string;
  readonly objectVersion: string;
}

/**
 * Backend-specific atomic address allocation for the fixed IP resource.
 *
 * `allocate` must, in one atomic step: find the live network `networkId` visible to
 * `networkScope` (else `NotFoundError('network', id)`), choose the address (the given one,
 * checked with {@link checkRequestedAddress}, or {@link lowestFreeAddress} over the live
 * fixed IPs of that network), and insert the fixed IP record. A taken address is
 * `DuplicateError(['networkId', 'address'])`, a full network `ExhaustedError`.
 */
export interface AddressAllocator {
  /** Allocates one address and returns the new fixed IP record. */
  allocate(networkScope: ReadScope, input: AllocateInput): Promise<StoredRecord>;
  /** Removes every live fixed IP of `instanceId` within the write scope; returns how many. */
  releaseAllForInstance(scope: WriteScope, instanceId: string, at: string): Promise<number>;
}

/**
 * What an adapter adds per backend for schema evolution: adding and dropping the physical
 * elements core derived ({@link elementsBetween}), and saying which are applied. Core
 * decides when (expand before records move, contract once nothing needs the old ones);
 * the backend only does it.
 *
 * Rules:
 * - both are idempotent: an element already there (or already gone) is skipped, and a
 *   call that failed halfway can be repeated;
 * - `expand` of a unique constraint that live records already violate throws
 *   `UniqueViolationError` (a `DuplicateError` naming the clashing ids) and changes
 *   nothing, not even the other elements of the same call;
 * - what was applied is recorded in the backend itself, in one place, so every process
 *   and tool reads the same answer from `appliedElements`;
 * - `expand` records the fields named in `elements.pending` as write-only, in the same
 *   record (with the fields it adds, or for fields applied before); other added fields are
 *   public. `publish` makes write-only fields public; `contract` of a field forgets its mark.
 *   Core refuses `where`/`orderBy` on a write-only field (`pendingAfter` computes the
 *   list to store).
 *
 * Optional on {@link Backend} for now; required once every built-in adapter has it.
 *
 * @example
 * ```ts
 * const { expand } = elementsBetween(gadget, '1.0', '1.1');
 * await backend.expand?.(gadget, expand);
 * await backend.appliedElements?.(gadget); // now includes the 1.1 fields, indexes, uniques
 * ```
 */
export interface EvolutionBackend {
  /** Adds the elements (columns, indexes, unique constraints, key sets) of a resource; idempotent. */
  expand(resource: AnyResource, elements: SchemaElements): Promise<void>;
  /** Drops the elements of a resource (and the data of dropped fields); idempotent. */
  contract(resource: AnyResource, elements: SchemaElements): Promise<void>;
  /**
   * The elements of a resource the backend records as applied, with `pending`: the
   * write-only fields (recorded by `expand`, not yet made public by `publish`).
   */
  appliedElements(resource: AnyResource): Promise<SchemaElements>;
  /**
   * Makes write-only fields public (removes them from the recorded `pending`); fields that
   * are public already or not applied are ignored. Idempotent.
   */
  publish(resource: AnyResource, fields: readonly string[]): Promise<void>;
  /**
   * Optional: the atomic fence of a live upgrade. From now on the backend refuses, in the
   * same atomic step as the write itself, every write that would leave a record of
   * `resource` at an object version older than `floor`: an insert at an older version,
   * or an update that keeps a record at an older version while changing anything but
   * its soft-delete mark. The refusal is `WriteBelowPinError` and changes nothing.
   * Rewrites to `floor` or newer, and deletes, pass. Idempotent; a lower floor than the
   * one recorded changes nothing. `writeFloor` reads it back (`undefined`: none).
   * Backends that declare `capabilities.fencing: 'atomic'` implement both.
   */
  setWriteFloor?(resource: AnyResource, floor: string): Promise<void>;
  /** Optional: the floor {@link setWriteFloor} recorded for `resource`, if any. */
  writeFloor?(resource: AnyResource): Promise<string | undefined>;
}

/**
 * An opened backend, as an adapter's `open` returns it. Core turns it into the
 * public `Stores` bag with {@link createStores}.
 */
export interface Backend extends Partial<EvolutionBackend> {
  /** Short backend name for reports, e.g. `sqlite`. */
  readonly name: string;
  /** The adapter's frozen capability manifest. */
  readonly capabilities: Capabilities;
  /** The driver of one resource (called once per resource at open). */
  driver(resource: AnyResource): ResourceDriver;
  /** Atomic address allocation over the `network` and `fixedIp` resources. */
  readonly allocator: AddressAllocator;
  /** Releases connections. Idempotent. */
  close(): Promise<void>;
  /**
   * Optional: what the open backend says about itself for `polystore doctor` (its namespace,
   * timeouts, counters), as flat scalars and never a secret (no password, token or key).
   *
   * @example
   * ```ts
   * describe: () => ({ keyPrefix: 'app_', poolSize: 10, tls: false }),
   * ```
   */
  describe?(): Readonly<Record<string, string | number | boolean>>;
}
