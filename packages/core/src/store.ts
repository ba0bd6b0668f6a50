import type { RequestContext } from './context.js';
import type { OrderBy, Where } from './query/query.js';
import type { CreateOf, PatchOf, RecordOf } from './schema/resource.js';

/** Options of `list`. */
export interface ListOptions<Rec = Record<string, unknown>> {
  /** Filter on indexed fields. */
  readonly where?: Where<Rec>;
  /** One sortable field; `id` breaks ties. Default `{ field: 'id', direction: 'asc' }`. */
  readonly orderBy?: OrderBy<Extract<keyof Rec, string>>;
  /** Page size, 1 to 1000, default 50. */
  readonly limit?: number;
  /** The `next` cursor of the previous page. */
  readonly after?: string | null;
}

/** One page of `list`. */
export interface Page<Rec> {
  /** The records of this page, in order. */
  readonly items: readonly Rec[];
  /** Cursor of the next page, `null` when this is the last. */
  readonly next: string | null;
}

/** The value of one `expected` entry: the field must currently hold one of these. */
export type ExpectedValues<V> = V | readonly V[];

/** Options of `update`. */
export interface UpdateOptions<Rec = Record<string, unknown>> {
  /** Refuse with `ConflictError` unless the record is at this revision. */
  readonly expectedRevision?: number;
  /** Refuse with `ConflictError` unless each named field holds one of the given values. */
  readonly expected?: { readonly [K in keyof Rec]?: ExpectedValues<Rec[K]> };
  /**
   * The object version to write the record at (a release pin; default the code's
   * version). A record already at a newer version of the same major keeps it: a write
   * never lowers `objectVersion`.
   */
  readonly writeVersion?: string;
}

/** Options of `delete`. */
export interface DeleteOptions {
  /** Refuse with `ConflictError` unless the record is at this revision. */
  readonly expectedRevision?: number;
}

/** Options of `purge`. */
export interface PurgeOptions {
  /** Remove soft-deleted records whose `deletedAt` is strictly before this instant (ISO 8601). */
  readonly deletedBefore: string;
}

/**
 * The store of one resource: the same methods, arities and errors on every backend.
 *
 * @example
 * ```ts
 * const net = await stores.networks.create(ctx, { label: 'lan', cidr: '10.0.0.0/24' });
 * const page = await stores.networks.list(ctx, { where: { label: 'lan' }, limit: 10 });
 * await stores.networks.update(ctx, net.id, { label: 'lan2' }, { expectedRevision: net.revision });
 * ```
 */
export interface ResourceStore<R> {
  /** Creates a record. `DuplicateError` if a unique field (or the given id) is taken among live records. */
  create(ctx: RequestContext, values: CreateOf<R>): Promise<RecordOf<R>>;
  /** Reads one record. `NotFoundError` if it does not exist or is not visible to `ctx`. */
  get(ctx: RequestContext, id: string): Promise<RecordOf<R>>;
  /** Reads many records, in the order of `ids` without repeats; missing ids are left out. */
  getMany(ctx: RequestContext, ids: readonly string[]): Promise<RecordOf<R>[]>;
  /** One page of records matching `where`, in total order. */
  list(ctx: RequestContext, options?: ListOptions<RecordOf<R>>): Promise<Page<RecordOf<R>>>;
  /** How many records match `where`. */
  count(ctx: RequestContext, where?: Where<RecordOf<R>>): Promise<number>;
  /** Changes some fields of a live record. `ConflictError` when a condition fails, `NotFoundError` when absent. */
  update(
    ctx: RequestContext,
    id: string,
    patch: PatchOf<R>,
    options?: UpdateOptions<RecordOf<R>>,
  ): Promise<RecordOf<R>>;
  /** Deletes a live record (soft delete where the resource has it) and returns its last state. */
  delete(ctx: RequestContext, id: string, options?: DeleteOptions): Promise<RecordOf<R>>;
  /** Admin only: removes soft-deleted records deleted before the given instant; returns how many. */
  purge(ctx: RequestContext, options: PurgeOptions): Promise<number>;
}

/** The public method names of {@link ResourceStore}, with their arities, for shape checks. */
export const RESOURCE_STORE_METHODS = Object.freeze({
  create: 2,
  get: 2,
  getMany: 2,
  list: 2,
  count: 2,
  update: 4,
  delete: 3,
  purge: 2,
} as const);
