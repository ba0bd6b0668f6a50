import { createHash } from 'node:crypto';
import type { AnyResource } from '@polystore/core';
import type { StoredRecord } from '@polystore/core/adapter';

/** Longest encoded string kept readable (base64url); longer values are hashed. */
const MAX_PLAIN = 200;

/** Index names of the adapter's own membership sets (field names cannot start with `$`). */
export const STATE_INDEX = '$state';
/** Index of records by the object version they were written at. */
export const VERSION_INDEX = '$version';

/**
 * Encodes a scalar as one legal znode name: `_` null, `t`/`f` booleans, `n<digits>`
 * integers, `s<base64url of UTF-8>` strings (so `/`, `.`, `..`, control and non-BMP
 * characters never reach a path), and `h<sha256>` for strings too long to keep.
 */
export function encodeValue(value: unknown): string {
  if (value === null || value === undefined) return '_';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number') return `n${String(value)}`;
  const bytes = Buffer.from(String(value), 'utf8');
  const plain = bytes.toString('base64url');
  if (plain.length <= MAX_PLAIN) return `s${plain}`;
  return `h${createHash('sha256').update(bytes).digest('base64url')}`;
}

/** The string of an encoded `s` value, or `undefined` for any other encoding. */
export function decodeString(encoded: string): string | undefined {
  return encoded.startsWith('s')
    ? Buffer.from(encoded.slice(1), 'base64url').toString('utf8')
    : undefined;
}

/** The record id of a membership znode name (`<id>.<token>`). */
export function idOfStateEntry(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? name : name.slice(0, dot);
}

/** A unique constraint's znode and the fields it names. */
export interface UniqueEntry {
  readonly path: string;
  readonly fields: readonly string[];
}

/**
 * Where one resource's data lives, derived from its schema, under the resource's plural
 * name (`instances`, `fixedIps`: the storage name every backend uses):
 *
 * ```
 * <chroot>/<plural>/records/<id>                            the record, JSON (znode version: the write guard)
 * <chroot>/<plural>/index/<field>/<value>/<id>              equality index of each indexed field (and projectId)
 * <chroot>/<plural>/index/$state/{live,deleted}/<id>.<t>    live / soft-deleted membership; <t> is the record's
 *                                                           incarnation token (see {@link stateEntry})
 * <chroot>/<plural>/index/$version/<objectVersion>/<id>     records by object version (pending counts)
 * <chroot>/<plural>/unique/<f1+f2>/<value1>/<value2>        one per live record per unique constraint; data = id
 * <chroot>/<plural>/schema                                  the applied schema elements, JSON (see `applied-elements.ts`)
 * ```
 *
 * The record znode's data version is the compare-and-swap guard of its writes; `expand`
 * bumps it (same content) when it enters a record in a new index or unique constraint.
 */
export class ResourceLayout {
  /** The resource this layout is for. */
  readonly resource: AnyResource;
  /** `<chroot>/<plural>`. */
  readonly root: string;
  /** Parent of the record znodes. */
  readonly records: string;
  /** Parent of the index directories. */
  readonly index: string;
  /** Parent of the unique constraint directories. */
  readonly unique: string;
  /** The znode recording the applied schema elements. */
  readonly schema: string;
  /** Fields with an equality index: every queryable field but the id and datetimes. */
  readonly indexedFields: readonly string[];

  constructor(chroot: string, resource: AnyResource) {
    this.resource = resource;
    this.root = `${chroot}/${resource.plural}`;
    this.records = `${this.root}/records`;
    this.index = `${this.root}/index`;
    this.unique = `${this.root}/unique`;
    this.schema = `${this.root}/schema`;
    // The id is the record's own name; timestamps are near-unique and, like `lastSeenAt`
    // on every heartbeat, change often: a directory per value would only churn.
    this.indexedFields = Object.entries(resource.queryable)
      .filter(([name, q]) => name !== 'id' && q.field.kind !== 'datetime')
      .map(([name]) => name);
  }

  /**
   * The znodes that exist whatever the data: created when a brand-new store is opened, and
   * by `expand` for the index and unique directories it adds.
   */
  staticPaths(): string[] {
    return [
      this.records,
      ...[...this.indexedFields, STATE_INDEX, VERSION_INDEX].map((f) => `${this.index}/${f}`),
      `${this.index}/${STATE_INDEX}/live`,
      `${this.index}/${STATE_INDEX}/deleted`,
      ...this.resource.unique.map((u) => `${this.unique}/${u.join('+')}`),
    ];
  }

  /** The record znode of an id. */
  record(id: string): string {
    return `${this.records}/${id}`;
  }

  /** The directory of the ids whose indexed `field` equals `value`. */
  valueDir(field: string, value: unknown): string {
    return `${this.index}/${field}/${encodeValue(value)}`;
  }

  /** The directory of the live or the soft-deleted ids. */
  stateDir(deleted: boolean): string {
    return `${this.index}/${STATE_INDEX}/${deleted ? 'deleted' : 'live'}`;
  }

  /** The directory of the object versions. */
  versionsDir(): string {
    return `${this.index}/${VERSION_INDEX}`;
  }

  /**
   * A record's membership znode in the live or deleted set. Its name carries the record's
   * incarnation token (random, made at insert, kept in the record znode's data): a write
   * built on a remembered state checks that this znode exists, so a record removed and
   * created again with the same id (and perhaps the same znode version) is never written
   * from the old incarnation's data.
   */
  stateEntry(record: StoredRecord, token: string): string {
    return `${this.stateDir(record.deletedAt !== null)}/${record.id}.${token}`;
  }

  /** Every index znode a record has (with the equality indexes of `fields`, default this definition's). */
  indexEntries(
    record: StoredRecord,
    token: string,
    fields: readonly string[] = this.indexedFields,
  ): string[] {
    const out = fields.map((f) => `${this.valueDir(f, record[f] ?? null)}/${record.id}`);
    out.push(this.stateEntry(record, token));
    out.push(`${this.versionsDir()}/${record.objectVersion}/${record.id}`);
    return out;
  }

  /** The unique znodes a record holds: only live records, only constraints without a null field. */
  uniqueEntries(
    record: StoredRecord,
    uniques: readonly (readonly string[])[] = this.resource.unique,
  ): UniqueEntry[] {
    if (record.deletedAt !== null) return [];
    const out: UniqueEntry[] = [];
    for (const fields of uniques) {
      if (fields.some((f) => record[f] === null || record[f] === undefined)) continue;
      out.push({
        path: `${this.unique}/${fields.join('+')}/${fields.map((f) => encodeValue(record[f])).join('/')}`,
        fields,
      });
    }
    return out;
  }

  /** The directory of an equality index. */
  indexDir(field: string): string {
    return `${this.index}/${field}`;
  }

  /** The directory of a unique constraint. */
  uniqueDir(fields: readonly string[]): string {
    return `${this.unique}/${fields.join('+')}`;
  }

  /** The directory of a unique constraint's znodes whose leading fields hold `values` (e.g. the addresses of one network). */
  uniquePrefixDir(fields: readonly string[], values: readonly unknown[]): string {
    return `${this.unique}/${fields.join('+')}/${values.map(encodeValue).join('/')}`;
  }
}
