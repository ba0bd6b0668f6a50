import { type AnyResource, ConfigError, type FilterValue } from '@polystore/core';
import type { StoredRecord } from '@polystore/core/adapter';

/**
 * Separator between a sort token and the id in a sorted-set member. NUL sorts below every
 * byte a token may hold (strings never contain NUL), so `(token, id)` members order by
 * token first, then id, exactly like the total order `(field, id)`.
 */
export const MEMBER_SEPARATOR = '\u0000';

/** Prefix of the hidden hash fields that hold sort tokens (field names never start with `~`). */
const TOKEN_FIELD = '~s:';

/** Offset that maps every safe integer onto a non-negative one, so fixed-width hex sorts numerically. */
const INT_OFFSET = 2n ** 53n;
/** Hex digits of `Number.MAX_SAFE_INTEGER + 2 ** 53`, the largest offset int. */
const INT_WIDTH = 14;

/** Whether records are live (`l`) or soft-deleted (`d`). */
export type Liveness = 'l' | 'd';

/**
 * How one resource maps onto Redis keys, derived from its schema (`resource.queryable`,
 * `resource.unique`, `resource.scope`) and never written by hand per resource.
 *
 * Every key starts with the namespace's `<prefix>{<namespace>}:` (one hash tag for the whole
 * namespace, so multi-key scripts also run on Redis Cluster), then the resource's plural
 * and `:` (`instances:`), the storage name every backend uses:
 *
 * | key | type | holds |
 * |---|---|---|
 * | `r:<id>` | hash | the record: `<field>` → JSON text, `~s:<field>` → sort token of each sortable field, `~e:<field>` / `~u:<f1,f2>` → the equality value / unique key it was last entered under (for rewrite) |
 * | `w:<id>` | string | the record's reply row, under the signature of its reader's fields and the row format (prelude.lua ROW_HEAD; read only under the reader's) |
 * | `z:<field>:<l\|d>:<*\|project>` | sorted set (lex) | `<token>\0<id>` of every record of the partition, for each sortable field |
 * | `q:<field>:<l\|d>:<*\|project>:<value>` | sorted set (lex) | `<id>\0<id>` (the id index's member) of every record of the partition whose field has that value (JSON text; `null` too): in the id index's order, so a page by id with that filter is a range walk |
 * | `e:<field>:<l\|d>:<*\|project>:<value>` | set | the ids of the same, in a store written before the sorted sets: writes remove ids from it, reads take it too, `list` and `count` move the rest when they meet it |
 * | `u:<f1,f2>:<v1>\0<v2>` | string | id of the live record holding these unique values (none when a value is null) |
 * | `vz:<version>` | sorted set (lex) | ids of the records stored at an object version (score 0: in id order, for `scanVersion` pages) |
 * | `v:<version>` | set | the same, in a store written before the sorted sets: writes remove ids from it, `scanVersion` moves the rest (`convertVersion`) |
 * | `versions` | set | the object versions that have records |
 * | `deleted` | sorted set (lex) | `<deletedAt>\0<id>` of soft-deleted records, for purge |
 * | `schema` | string | the applied elements (JSON, see applied-elements.ts), for schema evolution; while an expand runs, also its state (`expand`, see expand.lua) |
 * | `expanding:clash` | set | while an expand runs: `<n>\0<id>` of the live records that share the values of its n-th unique constraint |
 * | `floor` | string | the write floor of a live upgrade (`major.minor`): writes below it are refused (set-floor.lua) |
 *
 * A partition is liveness (`l` live, `d` soft-deleted) times project: `*` holds every
 * project, `<project>` (the JSON text of `projectId`, so `null` for shared records) one.
 * Global resources only have `*`.
 */
export class ResourceLayout {
  /** The resource. */
  readonly resource: AnyResource;
  /** The key base of the resource: `<prefix>{<namespace>}:<plural>:`. */
  readonly base: string;
  /** Fields with a sorted index (index `sort`, including `id`, `createdAt`, `updatedAt`). */
  readonly sortFields: readonly string[];
  /** Fields with equality indexes (index `eq`, except `projectId`, which partitions instead). */
  readonly eqFields: readonly string[];
  /** The unique constraints, each a list of field names. */
  readonly unique: readonly (readonly string[])[];
  /** Whether the resource is global (one project partition). */
  readonly global: boolean;
  /** The layout as JSON for the Lua scripts (`n`, the resource's name, names it in their refusals). */
  readonly descriptor: string;
  readonly #intFields: ReadonlySet<string>;

  constructor(resource: AnyResource, keyspace: string) {
    this.resource = resource;
    this.base = `${keyspace}${resource.plural}:`;
    const q = Object.entries(resource.queryable);
    this.sortFields = Object.freeze(q.filter(([, d]) => d.index === 'sort').map(([n]) => n));
    this.eqFields = Object.freeze(
      q.filter(([n, d]) => d.index === 'eq' && n !== 'projectId').map(([n]) => n),
    );
    this.unique = resource.unique;
    this.global = resource.scope === 'global';
    this.#intFields = new Set(q.filter(([, d]) => d.field.kind === 'int').map(([n]) => n));
    this.descriptor = JSON.stringify({
      n: resource.name,
      s: this.sortFields,
      e: this.eqFields,
      u: this.unique,
      g: this.global,
    });
  }

  /** The hash of a record. */
  recordKey(id: string): string {
    return `${this.base}r:${id}`;
  }

  /** The stored reply row of a record (prelude.lua save_row). */
  rowKey(id: string): string {
    return `${this.base}w:${id}`;
  }

  /** The sorted index of a sortable field for a partition. */
  sortKey(field: string, partition: string): string {
    return `${this.base}z:${field}:${partition}`;
  }

  /** The equality index of a field value (`valueJson` is the JSON text) for a partition. */
  eqKey(field: string, partition: string, valueJson: string): string {
    return `${this.base}q:${field}:${partition}:${valueJson}`;
  }

  /** The plain set a store written before the sorted equality indexes kept for {@link eqKey}. */
  legacyEqKey(field: string, partition: string, valueJson: string): string {
    return `${this.base}e:${field}:${partition}:${valueJson}`;
  }

  /** The prefix of a unique constraint's keys up to (excluding) its values. */
  uniquePrefix(fields: readonly string[]): string {
    return `${this.base}u:${fields.join(',')}:`;
  }

  /** The ids stored at an object version: a sorted set (score 0, so in id order). */
  versionKey(version: string): string {
    return `${this.base}vz:${JSON.stringify(version)}`;
  }

  /**
   * The plain set of the ids stored at an object version that stores written before the
   * sorted sets kept (see `RedisResourceDriver.convertVersion`).
   */
  legacyVersionKey(version: string): string {
    return `${this.base}v:${JSON.stringify(version)}`;
  }

  /** The set of object versions that have records. */
  get versionsKey(): string {
    return `${this.base}versions`;
  }

  /** The applied elements of the resource (what `expand` and `contract` change). */
  get schemaKey(): string {
    return `${this.base}schema`;
  }

  /**
   * The write floor of a live upgrade (`setWriteFloor`): the lowest object version the
   * write scripts accept, read by each of them in the same atomic step as its write.
   */
  get floorKey(): string {
    return `${this.base}floor`;
  }

  /** The sorted index of soft-deleted records by `deletedAt`. */
  get deletedKey(): string {
    return `${this.base}deleted`;
  }

  /** A partition name: liveness and project (`*` for every project, else the JSON text of `projectId`). */
  partition(liveness: Liveness, project: '*' | string | null): string {
    return `${liveness}:${project === '*' ? '*' : JSON.stringify(project)}`;
  }

  /**
   * The sort token of a value of a sortable field: strings, uuids and datetimes as they are
   * (byte order is code point order; ISO datetimes sort as time), ints offset by 2^53 and
   * written as 14 hex digits (fixed width, so lex order is numeric order).
   */
  sortToken(field: string, value: string | number): string {
    if (this.#intFields.has(field)) {
      return (BigInt(value as number) + INT_OFFSET).toString(16).padStart(INT_WIDTH, '0');
    }
    return value as string;
  }

  /** The JSON text a value is stored and indexed as. */
  valueJson(value: FilterValue | undefined): string {
    return JSON.stringify(value ?? null);
  }

  /**
   * The fields of the constraint a script's `{'duplicate', which}` reply names: `id`, or the
   * constraint's fields joined by `,` (one of the layout's, or one a newer definition
   * applied, which the scripts honour too).
   */
  duplicateFields(which: string): readonly string[] {
    return which === 'id' ? ['id'] : which.split(',');
  }

  /** Whether a field has a sorted index. */
  isSortField(field: string): boolean {
    return this.sortFields.includes(field);
  }

  /** The record as a flat list of hash fields and values: each field's JSON text and each sort token. */
  encode(record: StoredRecord): string[] {
    const out: string[] = [];
    for (const [name, value] of Object.entries(record)) {
      if (value !== undefined) out.push(name, JSON.stringify(value));
    }
    for (const field of this.sortFields) {
      out.push(`${TOKEN_FIELD}${field}`, this.sortToken(field, record[field] as string | number));
    }
    return out;
  }

  /** A record from its hash (a flat field/value list or an object); `undefined` when empty. */
  decode(hash: readonly string[] | Readonly<Record<string, string>>): StoredRecord | undefined {
    const entries: [string, string][] = [];
    if (Array.isArray(hash)) {
      const flat = hash as readonly string[];
      for (let i = 0; i + 1 < flat.length; i += 2) entries.push([flat[i]!, flat[i + 1]!]);
    } else {
      entries.push(...Object.entries(hash as Readonly<Record<string, string>>));
    }
    if (entries.length === 0) return undefined;
    const record: Record<string, unknown> = {};
    for (const [name, text] of entries) {
      if (name.startsWith('~')) continue;
      try {
        record[name] = JSON.parse(text);
      } catch (err) {
        // Only another program writing into the namespace can leave a value that is not JSON.
        throw new ConfigError(
          `redis: ${this.resource.name} field ${name} under ${this.base} is not JSON: the namespace holds foreign data`,
          { cause: err },
        );
      }
    }
    return record as StoredRecord;
  }
}

/**
 * The keyspace of a namespace: `<prefix>{<namespace>}:`. The braces make the namespace the
 * Redis Cluster hash tag, so all keys of a namespace live in one slot.
 */
export function keyspace(prefix: string, namespace: string): string {
  return `${prefix}{${namespace}}:`;
}
