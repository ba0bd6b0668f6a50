import {
  ConfigError,
  compareVersions,
  DuplicateError,
  historyOf,
  InvalidQueryError,
  SYSTEM_FIELDS,
  UnavailableError,
} from '@polystore/core';
import {
  compareCodePoints,
  type DeleteChange,
  type EvolutionDriver,
  inReadScope,
  type ListQuery,
  type Predicate,
  type ReadScope,
  type ResourceDriver,
  type StoredRecord,
  type UpdateChange,
  type VersionPage,
  type WriteOutcome,
  type WriteScope,
} from '@polystore/core/adapter';
import type { ResourceLayout } from './layout.js';
import {
  countIndex,
  indexOfPlan,
  lexArg,
  maxLower,
  memberOf,
  minUpper,
  planQuery,
  type QueryPlan,
} from './query-plan.js';
import { RowError, RowReader } from './record-reader.js';
import { type BoundScript, type RedisConnection, rowSignature } from './redis-connection.js';

/** Most partitions a `list` merges; beyond, it reads all projects and checks `projectId`. */
const MAX_LIST_PARTITIONS = 16;
/** Soft-deleted records one purge script removes; each batch is atomic, and short. */
const PURGE_BATCH = 500;
/**
 * Records one `rewriteMany` script rewrites: a few milliseconds of the server's time, so
 * other clients' commands wait no longer than that between two scripts.
 */
const REWRITE_BATCH = 250;
/** Ids one script moves from an old-layout version set to its sorted set (see `convertVersion`). */
const CONVERT_BATCH = 2000;

/** How many equality indexes a driver remembers as having no legacy set left (see `count`). */
const NO_LEGACY_MEMORY = 4096;

/** A script reply: a status word and its payload. */
type Reply = [string, ...unknown[]];

/**
 * The scripts whose replies carry records, and those that store a record's row (insert,
 * rewriteMany): the driver loads them with its fields bound.
 */
const BOUND_SCRIPTS = [
  'get',
  'fetch',
  'list',
  'insert',
  'update',
  'delete',
  'rewrite',
  'rewriteMany',
] as const;

/**
 * Where a bound script takes the names of the reply's fields (see read_names), and the
 * layout (see layout_of); also the layout of a script that does not read it (list, count).
 */
const BOUND = '-';

/**
 * The generic driver of any resource over Redis. Every mutation is one Lua script that
 * checks its conditions and changes the record and all its index entries atomically; a
 * `get` is one `GET` of the record's stored row (and the read-only `get` script when the row
 * is missing or not of this driver's fields), a page of `list`, a `count` and a `getMany`
 * one read-only script over the index keys (a `count` that is the size of one index is one
 * `ZCARD`).
 * Reads return only the fields by name ({@link readFields}), so the hidden `~` fields of the
 * indexes never travel, each record as one row, the JSON array of its texts (see row_of
 * in prelude.lua). A write of this driver also stores the record's row (`w:<id>`), which a
 * read of the same fields returns (record_row): one GET instead of an HMGET of every field
 * and the row's making. The write
 * scripts reply in the same form: an update or delete with the record written, a conflict
 * with the current one; an insert or rewrite only with 'ok', the record being the one sent.
 *
 * An insert, update or delete sends last the schema-key text it learned adds nothing to its
 * layout ({@link #schemaText}); while the key holds that text, the script decodes nothing
 * of it (with_applied in prelude.lua). The reply of a write that decoded a text adding
 * nothing carries it, and the driver sends that one from then on.
 *
 * The scripts that reply with records are loaded with those field names bound in them
 * ({@link RedisConnection.bind}), so that a call does not send them: as arguments, the 15
 * names of an instance cost the client more than the rest of a get.
 *
 * For schema evolution, `countByVersion` reads the sizes of the per-version sorted sets,
 * `scanVersion` reads a page of one of them from its cursor, and `rewrite` is one script that replaces
 * the record and repairs every index and unique entry of it (see rewrite.lua);
 * `rewriteMany` does the same for a few hundred records per script (rewrite-many.lua).
 */
export class RedisResourceDriver implements ResourceDriver, EvolutionDriver {
  readonly #conn: RedisConnection;
  readonly #layout: ResourceLayout;
  /** The fields reads fetch ({@link readFields}), `id` first. */
  readonly #fields: readonly string[];
  /** The scripts of {@link BOUND_SCRIPTS}, with {@link #fields} bound in them. */
  readonly #bound: Readonly<Record<(typeof BOUND_SCRIPTS)[number], BoundScript>>;
  /** Reads the rows of the scripts' replies (of {@link #fields}). */
  readonly #rows: RowReader;
  /** Plain equality sets of an earlier release known to be gone (see `count`). */
  readonly #noLegacy = new Set<string>();
  /**
   * The schema key's text as a write last found it adding nothing to the layout, '' before
   * one did. Only ever compared with the key's text by the scripts: a stale one costs a
   * decode, never a missed index.
   */
  #schemaText = '';
  /** The head of this driver's stored rows (prelude.lua ROW_HEAD). */
  readonly #head: string;

  constructor(connection: RedisConnection, layout: ResourceLayout) {
    this.#conn = connection;
    this.#layout = layout;
    this.#fields = readFields(layout);
    const bound: Partial<Record<(typeof BOUND_SCRIPTS)[number], BoundScript>> = {};
    for (const name of BOUND_SCRIPTS) {
      bound[name] = connection.bind(name, this.#fields, layout.descriptor);
    }
    this.#bound = bound as Record<(typeof BOUND_SCRIPTS)[number], BoundScript>;
    this.#rows = new RowReader(this.#fields);
    this.#head = `${rowSignature(this.#fields)}\0`;
  }

  async insert(record: StoredRecord): Promise<StoredRecord> {
    const l = this.#layout;
    const reply = (await this.#bound.insert(l.recordKey(record.id), [
      l.base,
      BOUND,
      record.id,
      ...l.encode(record),
      this.#schemaText,
    ])) as Reply;
    if (reply[0] !== 'ok') throw this.#unexpected('insert', reply);
    this.#learn(reply[1]);
    return record;
  }

  async get(scope: ReadScope, id: string): Promise<StoredRecord | undefined> {
    const l = this.#layout;
    // The record's stored row under this driver's head is what its hash holds (save_row):
    // one GET. Else (no record, or a row of other fields or of an earlier release) the
    // script reads the hash.
    const stored = await this.#conn.text(l.rowKey(id), 'get');
    const row =
      stored?.startsWith(this.#head) === true
        ? stored
        : ((await this.#bound.get(l.recordKey(id), [l.base, id, BOUND])) as string | null);
    if (row === null) return undefined;
    const record = this.#row(row);
    return inReadScope(record, scope) ? record : undefined;
  }

  async getMany(scope: ReadScope, ids: readonly string[]): Promise<StoredRecord[]> {
    if (ids.length === 0) return [];
    const l = this.#layout;
    const reply = (await this.#bound.fetch(l.versionsKey, [l.base, BOUND, ...ids])) as string[];
    const out: StoredRecord[] = [];
    for (const row of reply) {
      const record = this.#row(row);
      if (inReadScope(record, scope)) out.push(record);
    }
    return out;
  }

  async list(scope: ReadScope, query: ListQuery): Promise<StoredRecord[]> {
    const l = this.#layout;
    const { field, direction } = query.orderBy;
    const plan = planQuery(l, scope, query.where, {
      orderField: field,
      maxPartitions: MAX_LIST_PARTITIONS,
    });
    if (!plan) return [];
    let { lo, hi } = plan.order;
    if (query.after !== null) {
      const { value, id } = query.after;
      const isInt = l.resource.queryable[field]?.field.kind === 'int';
      if (isInt !== (typeof value === 'number')) {
        throw new InvalidQueryError('after: not a cursor returned by list');
      }
      const bound = { bytes: memberOf(l.sortToken(field, value), id), inclusive: false };
      if (direction === 'asc') lo = maxLower(lo, bound);
      else hi = minUpper(hi, bound);
    }
    const args = [
      l.base,
      BOUND,
      field,
      direction,
      lexArg(lo, '-'),
      lexArg(hi, '+'),
      String(query.limit),
      String(plan.partitions.length),
      ...plan.partitions,
      ...plan.predicates,
      BOUND,
    ];
    let reply = (await this.#bound.list(l.versionsKey, args)) as string[];
    if (reply[0] === 'old') {
      // The equality index to walk still has ids in a legacy set: move them, then read.
      for (const legacy of reply.slice(1)) await this.#convertEq(legacy);
      reply = (await this.#bound.list(l.versionsKey, args)) as string[];
      if (reply[0] === 'old') {
        throw new UnavailableError(
          `redis list: an equality index still has ids in the plain set of an earlier release after it was moved (${reply.slice(1).join(', ')}): a process of that release is writing to this store; move every process to this release`,
        );
      }
    }
    return reply.map((row) => this.#row(row));
  }

  async count(scope: ReadScope, where: readonly Predicate[]): Promise<number> {
    const l = this.#layout;
    let one = countIndex(l, scope, where);
    let plan: QueryPlan | undefined;
    if (one === undefined) {
      plan = planQuery(l, scope, where, { maxPartitions: Number.POSITIVE_INFINITY });
      if (!plan) return 0;
      one = indexOfPlan(l, plan);
    }
    // An equality index with no legacy set left stays so (this release never writes one).
    if (one && (one.legacy === undefined || this.#noLegacy.has(one.legacy))) {
      return this.#conn.sortedSetSize(one.key, 'count');
    }
    plan ??= planQuery(l, scope, where, { maxPartitions: Number.POSITIVE_INFINITY });
    if (!plan) return 0;
    // A range on a sortable field is a predicate of count (no order field absorbs it).
    const reply = await this.#conn.script('count', l.versionsKey, [
      l.base,
      BOUND,
      String(plan.partitions.length),
      ...plan.partitions,
      ...plan.predicates,
    ]);
    const [n, old] = reply as [number, number];
    if (one?.legacy !== undefined) {
      if (old > 0) await this.#convertEq(one.legacy);
      if (this.#noLegacy.size >= NO_LEGACY_MEMORY) this.#noLegacy.clear();
      this.#noLegacy.add(one.legacy);
    }
    return n;
  }

  async update(scope: WriteScope, id: string, change: UpdateChange): Promise<WriteOutcome> {
    const l = this.#layout;
    const args: (string | number)[] = [
      l.base,
      BOUND,
      id,
      scopeArg(scope),
      change.expectedRevision === undefined ? '' : String(change.expectedRevision),
      BOUND,
    ];
    args.push(...expectedArgs(change.expected));
    const set = Object.entries(change.set);
    args.push(String(set.length));
    for (const [field, value] of set) {
      const sort = l.isSortField(field);
      args.push(
        field,
        JSON.stringify(value),
        sort ? '1' : '0',
        sort ? l.sortToken(field, value as string | number) : '',
      );
    }
    args.push(
      JSON.stringify(change.updatedAt),
      l.sortToken('updatedAt', change.updatedAt),
      JSON.stringify(change.objectVersion),
      this.#schemaText,
    );
    const reply = (await this.#bound.update(l.recordKey(id), args)) as Reply;
    if (reply[0] === 'ok') this.#learn(reply[2]);
    return this.#outcome('update', reply);
  }

  async delete(scope: WriteScope, id: string, change: DeleteChange): Promise<WriteOutcome> {
    const l = this.#layout;
    const reply = (await this.#bound.delete(l.recordKey(id), [
      l.base,
      BOUND,
      id,
      scopeArg(scope),
      change.expectedRevision === undefined ? '' : String(change.expectedRevision),
      change.soft ? '1' : '0',
      JSON.stringify(change.at),
      change.at,
      BOUND,
      ...expectedArgs(change.expected),
      this.#schemaText,
    ])) as Reply;
    if (reply[0] === 'ok') this.#learn(reply[2]);
    return this.#outcome('delete', reply);
  }

  async purge(before: string): Promise<number> {
    const l = this.#layout;
    let removed = 0;
    for (;;) {
      const [taken, gone] = (await this.#conn.script('purge', l.deletedKey, [
        l.base,
        l.descriptor,
        before,
        PURGE_BATCH,
      ])) as [number, number];
      removed += gone;
      if (taken < PURGE_BATCH) return removed;
    }
  }

  /**
   * How many records are stored at each object version (live and soft-deleted), read from
   * the per-version sets in one round trip, without scanning records.
   */
  async versionCounts(): Promise<Map<string, number>> {
    const l = this.#layout;
    const flat = (await this.#conn.script('versions', l.versionsKey, [l.base])) as (
      | string
      | number
    )[];
    const out = new Map<string, number>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      out.set(JSON.parse(String(flat[i])) as string, Number(flat[i + 1]));
    }
    return out;
  }

  /**
   * How many records (every project, live and soft-deleted) are stored at each object
   * version, from the sizes of the per-version sets: no record is read.
   */
  async countByVersion(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [v, n] of await this.versionCounts()) if (n > 0) out[v] = n;
    return out;
  }

  /**
   * A page of the records stored at `version`, by id in code point order: one read-only
   * script that reads the version's sorted set from `after` (O(log N + page), whatever the
   * store's size). A version a store written before the sorted sets still keeps in a plain
   * set is converted first, {@link CONVERT_BATCH} ids per script.
   */
  async scanVersion(
    version: string,
    after: string | undefined,
    limit: number,
  ): Promise<VersionPage> {
    const l = this.#layout;
    const size = Math.max(0, Math.floor(limit));
    if (size === 0) return { records: [], after: undefined };
    for (;;) {
      const reply = (await this.#conn.script('scanVersion', l.versionKey(version), [
        l.base,
        after ?? '',
        after === undefined ? '0' : '1',
        String(size),
        JSON.stringify(version),
      ])) as [string, ...string[][]];
      if (reply[0] === 'old') {
        await this.convertVersion(version);
        continue;
      }
      if (reply[0] !== 'ok') throw this.#unexpected('scanVersion', reply);
      const records = reply
        .slice(1)
        .map((hash) => l.decode(hash as string[]))
        .filter((r): r is StoredRecord => r !== undefined)
        .sort((a, b) => compareCodePoints(a.id, b.id));
      return { records, after: records.length === size ? records.at(-1)!.id : undefined };
    }
  }

  /**
   * Moves the ids of `version` from the plain set a store written before the sorted sets
   * keeps to its sorted set, {@link CONVERT_BATCH} per script (each atomic: an id is in one
   * of the two at any time, so counts and writes stay right meanwhile). Idempotent; a
   * conversion cut short goes on at the next call. {@link scanVersion} calls it.
   */
  async convertVersion(version: string): Promise<void> {
    const l = this.#layout;
    for (;;) {
      const left = await this.#conn.script('convertVersion', l.legacyVersionKey(version), [
        l.base,
        JSON.stringify(version),
        CONVERT_BATCH,
      ]);
      if (Number(left) === 0) return;
    }
  }

  /**
   * Replaces the whole record at `expectedRevision + 1` and makes every index and unique
   * entry of it match (the caller's layout and the elements the schema key records as
   * applied), in one script; a unique clash is `DuplicateError` and changes nothing.
   */
  async rewrite(record: StoredRecord, expectedRevision: number): Promise<WriteOutcome> {
    const l = this.#layout;
    const next = { ...record, revision: expectedRevision + 1 } as StoredRecord;
    const reply = (await this.#bound.rewrite(l.recordKey(record.id), [
      l.base,
      BOUND,
      l.schemaKey,
      record.id,
      String(expectedRevision),
      BOUND,
      ...l.encode(next),
    ])) as Reply;
    // The script replies only 'ok': the record it stored is the one sent (as insert's).
    if (reply[0] === 'ok') return { status: 'ok', record: next };
    if (reply[0] === 'duplicate') {
      throw new DuplicateError(l.resource.name, String(reply[1]).split(','));
    }
    return this.#outcome('rewrite', reply);
  }

  /**
   * {@link rewrite} of many records, {@link REWRITE_BATCH} per script, one script after the
   * other: each record exactly as `rewrite` would, in the order given (a unique value two
   * of them want goes to the first). A record at another revision, gone, or whose new values
   * clash with a live record's unique ones is left as it is; the ids rewritten are returned.
   *
   * @example
   * ```ts
   * const done = new Set(await driver.rewriteMany(page.map((r) => ({ record: upgraded(r), expectedRevision: r.revision }))));
   * for (const r of page) if (!done.has(r.id)) await driver.rewrite(upgraded(r), r.revision);
   * ```
   */
  async rewriteMany(
    rewrites: readonly { readonly record: StoredRecord; readonly expectedRevision: number }[],
  ): Promise<readonly string[]> {
    const l = this.#layout;
    const done: string[] = [];
    for (let i = 0; i < rewrites.length; i += REWRITE_BATCH) {
      const chunk = rewrites.slice(i, i + REWRITE_BATCH);
      const args: string[] = [l.base, BOUND, l.schemaKey, String(chunk.length)];
      for (const { record, expectedRevision } of chunk) {
        const hash = l.encode({ ...record, revision: expectedRevision + 1 } as StoredRecord);
        args.push(record.id, String(expectedRevision), String(hash.length), ...hash);
      }
      const reply = await this.#bound.rewriteMany(l.recordKey(chunk[0]!.record.id), args);
      if (!Array.isArray(reply)) throw this.#unexpected('rewriteMany', [String(reply)]);
      for (const id of reply) done.push(String(id));
    }
    return done;
  }

  /** How many records are stored below an object version (live and soft-deleted), without scanning. */
  async countBelowVersion(version: string): Promise<number> {
    let n = 0;
    for (const [v, count] of await this.versionCounts()) {
      if (compareVersions(v, version) < 0) n += count;
    }
    return n;
  }

  /**
   * Moves the ids of an equality index's legacy set (`legacy`, see
   * {@link ResourceLayout.legacyEqKey}) to its sorted set, {@link CONVERT_BATCH} per script
   * (each atomic: an id is in one of the two at any time, and every read takes both).
   */
  async #convertEq(legacy: string): Promise<void> {
    const l = this.#layout;
    const key = `${l.base}q:${legacy.slice(l.base.length + 2)}`;
    for (;;) {
      const left = await this.#conn.script('convertEq', legacy, [key, CONVERT_BATCH]);
      if (Number(left) === 0) return;
    }
  }

  /**
   * A record from a script's row: the JSON array of the texts of {@link readFields} (see
   * row_of in prelude.lua).
   */
  #row(row: string): StoredRecord {
    try {
      return this.#rows.read(row) as StoredRecord;
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      // Only another program writing into the namespace can leave a value that is not JSON.
      const l = this.#layout;
      throw new ConfigError(
        err.field === undefined
          ? `redis: a ${l.resource.name} record under ${l.base} is not one polystore wrote: the namespace holds foreign data`
          : `redis: ${l.resource.name} field ${err.field} under ${l.base} is not JSON: the namespace holds foreign data`,
        { cause: err },
      );
    }
  }

  /** Keeps the schema text a write's reply gives back (see {@link #schemaText}). */
  #learn(text: unknown): void {
    if (typeof text === 'string') this.#schemaText = text;
  }

  /**
   * The outcome of a write script's reply, whose record (the one written, or the current
   * one of a conflict) is one string of the fields of {@link readFields}, as reads get it.
   */
  #outcome(operation: string, raw: unknown): WriteOutcome {
    const reply = raw as Reply;
    switch (reply[0]) {
      case 'ok':
        return { status: 'ok', record: this.#row(reply[1] as string) };
      case 'not-found':
        return { status: 'not-found' };
      case 'conflict':
        return { status: 'conflict', current: this.#row(reply[1] as string) };
      default:
        throw this.#unexpected(operation, reply);
    }
  }

  /** The error of a reply other than success: a duplicate, or a reply this code does not know. */
  #unexpected(operation: string, reply: Reply): Error {
    if (reply[0] === 'duplicate') {
      return new DuplicateError(
        this.#layout.resource.name,
        this.#layout.duplicateFields(String(reply[1])),
      );
    }
    return new UnavailableError(
      `redis ${operation}: unexpected script reply ${JSON.stringify(reply[0])}`,
    );
  }
}

/**
 * The fields a read fetches: the system fields (`id` first), then every field any version
 * of the resource's history has, so a record stored at an older version comes with the
 * fields core's upgrade reads (a field a later version removed included). A field only a
 * newer definition has is left out: core would drop it (a record newer than the code is
 * read with the code's fields).
 */
export function readFields(layout: ResourceLayout): readonly string[] {
  const names = new Set<string>(SYSTEM_FIELDS);
  for (const v of historyOf(layout.resource).versions) {
    for (const name of v.fieldNames) names.add(name);
  }
  for (const name of layout.resource.fieldNames) names.add(name);
  return Object.freeze([...names]);
}

/** The write scope as a script argument: `''` for any project, else the project's JSON text. */
function scopeArg(scope: WriteScope): string {
  return scope.projectId === null ? '' : JSON.stringify(scope.projectId);
}

/**
 * The expected values of a conditional write as script arguments: their count, then each
 * field, the count of its allowed values and their JSON texts (see update.lua).
 */
function expectedArgs(
  expected: Readonly<Record<string, readonly unknown[]>> | undefined,
): string[] {
  const entries = Object.entries(expected ?? {});
  const out = [String(entries.length)];
  for (const [field, allowed] of entries) {
    out.push(field, String(allowed.length), ...allowed.map((v) => JSON.stringify(v ?? null)));
  }
  return out;
}
