import type { Capabilities } from './capabilities.js';
import type { ListQuery, Predicate } from './query/query.js';
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
}

/**
 * The outcome of a conditional write: the record written, or why not.
 * `conflict` carries the record as it is now, so core can say which condition failed.
 */
export type WriteOutcome =
  | { readonly status: 'ok'; readonly record: StoredRecord }
  | { readonly status: 'not-found' }
  | { readonly status: 'conflict'; readonly current: StoredRecord };

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
export interface ResourceDriver {
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
 * An opened backend, as an adapter's `open` returns it. Core turns it into the
 * public `Stores` bag with {@link createStores}.
 */
export interface Backend {
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
