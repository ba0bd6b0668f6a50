import { createHash } from 'node:crypto';
import { type AnyResource, compareVersions, type FieldKind } from '@polystore/core';

/** What a column holds: a system column or the kind of the resource field it stores. */
export type ColumnKind = FieldKind | 'revision';

/** One column of a resource table. */
export interface ColumnLayout {
  /** The record key it stores (`id`, `projectId`, or a field name). */
  readonly field: string;
  /** The SQL column name (snake_case of the field name). */
  readonly column: string;
  /** How values are stored and read back. */
  readonly kind: ColumnKind;
  /** Whether the record key may hold `null`. */
  readonly nullable: boolean;
  /** Whether it is one of core's system fields. */
  readonly system: boolean;
}

/** One index of a resource table. */
export interface IndexLayout {
  /** Index name, unique within the schema (at most 63 bytes, PostgreSQL's limit). */
  readonly name: string;
  /** Indexed columns, in order. */
  readonly columns: readonly string[];
  /** A unique index among live records (`WHERE deleted_at IS NULL`). */
  readonly unique: boolean;
  /** A partial index over soft-deleted records only (for `purge`). */
  readonly deletedOnly: boolean;
  /** The record fields a unique index guards, for `DuplicateError`. */
  readonly fields: readonly string[];
}

/** The table of one resource, derived from its schema and nothing else. */
export interface TableLayout {
  readonly resource: AnyResource;
  /** Table name: `<prefix><plural in snake_case>`. */
  readonly table: string;
  /** Name of the primary key constraint (on `id`). */
  readonly primaryKey: string;
  /** Every column, system columns first. */
  readonly columns: readonly ColumnLayout[];
  /** Indexes, including the partial unique ones. */
  readonly indexes: readonly IndexLayout[];
  /** The object versions of the resource, oldest first (how the earlier open's migration ledger named its steps). */
  readonly versions: readonly string[];
  /** A column by record key. */
  column(field: string): ColumnLayout;
}

/** `displayName` -> `display_name`; injective because field names never contain `_`. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** An identifier of at most 63 bytes: long names keep a readable head and a hash of the whole. */
export function shortName(name: string): string {
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  return `${name.slice(0, 52)}_${hash}`;
}

/** The name of the index over `columns` of `table` (`unique`: the partial unique index among live records). */
export function indexName(table: string, columns: readonly string[], unique: boolean): string {
  return shortName(`${table}__${columns.join('__')}${unique ? '__uq' : ''}`);
}

/** The columns of the index of one indexed field: `(column, id)` for a sortable one. */
export function indexColumns(field: string, kind: 'eq' | 'sort'): readonly string[] {
  return kind === 'sort' ? [snakeCase(field), 'id'] : [snakeCase(field)];
}

const SYSTEM: readonly { field: string; kind: ColumnKind; nullable: boolean }[] = [
  { field: 'id', kind: 'uuid', nullable: false },
  { field: 'projectId', kind: 'string', nullable: true },
  { field: 'revision', kind: 'revision', nullable: false },
  { field: 'createdAt', kind: 'datetime', nullable: false },
  { field: 'updatedAt', kind: 'datetime', nullable: false },
  { field: 'deletedAt', kind: 'datetime', nullable: true },
  { field: 'objectVersion', kind: 'string', nullable: false },
];

/**
 * Derives the table of a resource: a column per field, system columns, an index per
 * indexed field (`(column, id)` for sortable ones, so keyset paging walks the index), a
 * partial unique index per unique constraint, and indexes on `object_version` and
 * `deleted_at`. Nothing here is written by hand per resource.
 */
export function tableLayout(resource: AnyResource, prefix: string): TableLayout {
  const versions = Object.keys(resource.history).sort(compareVersions);
  const table = shortName(`${prefix}${snakeCase(resource.plural)}`);
  const columns: ColumnLayout[] = SYSTEM.map((s) => ({
    ...s,
    column: snakeCase(s.field),
    system: true,
  }));
  for (const name of resource.fieldNames) {
    const field = resource.fields[name]!;
    columns.push({
      field: name,
      column: snakeCase(name),
      kind: field.kind,
      nullable: field.isNullable,
      system: false,
    });
  }
  const byField = new Map(columns.map((c) => [c.field, c]));
  const index = (cols: readonly string[], extra: Partial<IndexLayout> = {}): IndexLayout => ({
    name: indexName(table, cols, extra.unique === true),
    columns: cols,
    unique: false,
    deletedOnly: false,
    fields: [],
    ...extra,
  });
  const indexes: IndexLayout[] = [];
  for (const [name, q] of Object.entries(resource.queryable)) {
    if (name === 'id') continue; // the primary key
    indexes.push(index(indexColumns(name, q.index === 'sort' ? 'sort' : 'eq')));
  }
  indexes.push(index(['object_version']));
  indexes.push(
    index(['deleted_at'], { deletedOnly: true, name: shortName(`${table}__deleted_at__gone`) }),
  );
  for (const fields of resource.unique) {
    indexes.push(
      index(
        fields.map((f) => byField.get(f)!.column),
        { unique: true, fields },
      ),
    );
  }
  return Object.freeze({
    resource,
    table,
    primaryKey: shortName(`${table}__pkey`),
    columns: Object.freeze(columns),
    indexes: Object.freeze(indexes),
    versions: Object.freeze(versions),
    column(field: string): ColumnLayout {
      const c = byField.get(field);
      if (!c) throw new TypeError(`${resource.name}: no column for field ${field}`);
      return c;
    },
  });
}
