import { type AnyResource, type Field, historyOf } from '@polystore/core';
import {
  elementsMinus,
  elementsOf,
  type FieldElement,
  type IndexElement,
  indexKey,
  type SchemaElements,
  UniqueViolationError,
  uniqueKey,
} from '@polystore/core/adapter';
import { type RawBuilder, sql } from 'kysely';
import type { DialectSupport, SqlDb } from './dialect/dialect-support.js';
import { toCoreError } from './errors.js';
import { indexColumns, indexName, shortName, snakeCase, type TableLayout } from './layout.js';
import { migrationName } from './schema-migration-provider.js';

/** A connection to run evolution DDL on, and how to give it back. */
export interface DdlConnection {
  readonly db: SqlDb;
  release(): Promise<void>;
}

/** What {@link SchemaElementsStore} needs of the backend. */
export interface SchemaElementsSpec {
  readonly support: DialectSupport;
  /** PostgreSQL: the schema of the tables (`undefined` on SQLite). */
  readonly schema: string | undefined;
  /** The table prefix of the store. */
  readonly prefix: string;
  /** The backend's connection or pool, for reads (not bound to a schema: names are qualified). */
  readonly db: SqlDb;
  /**
   * A connection for DDL (PostgreSQL: its own connection with the generous open timeouts, so
   * a long `CREATE INDEX CONCURRENTLY` is not cut short by the fail-fast bounds; SQLite: the
   * backend's one connection).
   */
  connect(): Promise<DdlConnection>;
}

/** `table` marks a table whose elements are recorded (even when none is left after `contract`). */
type ElementKind = 'table' | 'field' | 'index' | 'unique';

interface ElementRow {
  readonly kind: ElementKind;
  readonly key: string;
  readonly position: number;
  readonly detail: string;
}

/** How many times a PostgreSQL evolution call that lost its `lock_timeout` is tried. */
const DDL_ATTEMPTS = 5;
/** The `lock_timeout` of evolution DDL on PostgreSQL: never queue long behind a transaction. */
const LOCK_TIMEOUT = '5s';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The code of a driver error, if any. */
function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

/**
 * The evolution side of the SQL backend: the physical elements of each table (columns,
 * indexes, partial unique indexes) added and dropped on request, and the record of which
 * are applied, kept in one small table per prefix (`<prefix>polystore_elements`: table
 * name, element kind and key, position, and a JSON detail readable by tools). The record
 * is created with a brand-new store (at open) or by the first `expand`.
 *
 * PostgreSQL builds and drops indexes `CONCURRENTLY` (outside any transaction) with a
 * `lock_timeout` and a bounded retry; an index a failed build left invalid is dropped and
 * built again. SQLite runs each call in one transaction (its DDL is transactional), so a
 * refused call changes nothing.
 */
export class SchemaElementsStore {
  readonly #spec: SchemaElementsSpec;
  /** The name of the table that records the applied elements. */
  readonly table: string;

  constructor(spec: SchemaElementsSpec) {
    this.#spec = spec;
    this.table = shortName(`${spec.prefix}polystore_elements`);
  }

  get #pg(): boolean {
    return this.#spec.support.name === 'postgres';
  }

  #ref(name: string): RawBuilder<unknown> {
    return this.#spec.schema === undefined ? sql.table(name) : sql.id(this.#spec.schema, name);
  }

  /** Records `elements` as applied to `layout`'s table (those not recorded yet), creating the record table if needed. */
  async record(db: SqlDb, layout: TableLayout, elements: SchemaElements): Promise<void> {
    await this.#createTable(db);
    const rows = await this.#rows(db, layout.table);
    const known = new Set(rows.map((r) => `${r.kind}:${r.key}`));
    let position = rows.reduce((max, r) => Math.max(max, r.position), 0);
    // A table recorded nowhere yet (created before elements were recorded): its legacy elements first.
    const legacy = rows.length === 0 ? await this.#legacy(db, layout) : undefined;
    const marker = { kind: 'table' as const, key: '', detail: '{}' };
    for (const row of [marker, ...(legacy ? toRows(legacy) : []), ...toRows(elements)]) {
      if (known.has(`${row.kind}:${row.key}`)) continue;
      known.add(`${row.kind}:${row.key}`);
      if (row.kind !== 'table') position++;
      await sql`INSERT INTO ${this.#ref(this.table)} (table_name, kind, element_key, position, detail)
        VALUES (${layout.table}, ${row.kind}, ${row.key}, ${row.kind === 'table' ? 0 : position}, ${row.detail})
        ON CONFLICT DO NOTHING`.execute(db);
    }
  }

  /** The elements recorded as applied to `layout`'s table (none if nothing is recorded; never creates anything). */
  async applied(layout: TableLayout): Promise<SchemaElements> {
    try {
      return fromRows(layout.resource, await this.#recorded(this.#spec.db, layout));
    } catch (err) {
      throw toCoreError(err);
    }
  }

  /**
   * Adds the elements not recorded yet: columns (nullable: older rows read as missing),
   * indexes and partial unique indexes among live rows. A unique constraint that live
   * rows violate is refused with `UniqueViolationError` before anything is changed.
   */
  async expand(layout: TableLayout, elements: SchemaElements): Promise<void> {
    const conn = await this.#spec.connect();
    try {
      if (this.#pg) await this.#retryingLock(() => this.#expandPostgres(conn.db, layout, elements));
      else await conn.db.transaction().execute((trx) => this.#expandSqlite(trx, layout, elements));
    } catch (err) {
      throw toCoreError(err, { layout });
    } finally {
      await conn.release();
    }
  }

  /** Drops the elements (indexes, unique indexes, then columns and their data) and their record; idempotent. */
  async contract(layout: TableLayout, elements: SchemaElements): Promise<void> {
    const conn = await this.#spec.connect();
    try {
      if (this.#pg) {
        await this.#retryingLock(() => this.#contract(conn.db, layout, elements));
      } else {
        await conn.db.transaction().execute((trx) => this.#contract(trx, layout, elements));
      }
    } catch (err) {
      throw toCoreError(err, { layout });
    } finally {
      await conn.release();
    }
  }

  async #expandSqlite(db: SqlDb, layout: TableLayout, elements: SchemaElements): Promise<void> {
    await this.#createTable(db);
    const missing = await this.#missing(db, layout, elements);
    const columns = await this.#columns(db, layout.table);
    await this.#checkUniques(db, layout, missing.uniques, columns);
    for (const f of missing.fields) {
      const column = snakeCase(f.name);
      if (columns.has(column)) continue;
      const type = sql.raw(this.#spec.support.columnType(f.field.kind));
      await sql`ALTER TABLE ${this.#ref(layout.table)} ADD COLUMN ${sql.ref(column)} ${type}`.execute(
        db,
      );
    }
    for (const i of missing.indexes) await this.#createIndex(db, layout, indexSpec(layout, i));
    for (const u of missing.uniques) await this.#createIndex(db, layout, uniqueSpec(layout, u));
    await this.record(db, layout, missing);
  }

  async #expandPostgres(db: SqlDb, layout: TableLayout, elements: SchemaElements): Promise<void> {
    await db.connection().execute(async (c) => {
      await sql`SET lock_timeout = ${sql.lit(LOCK_TIMEOUT)}`.execute(c);
      await this.#createTable(c);
      const missing = await this.#missing(c, layout, elements);
      const columns = await this.#columns(c, layout.table);
      await this.#checkUniques(c, layout, missing.uniques, columns);
      const added: string[] = [];
      for (const f of missing.fields) {
        const column = snakeCase(f.name);
        if (columns.has(column)) continue;
        const type = sql.raw(this.#spec.support.columnType(f.field.kind));
        await sql`ALTER TABLE ${this.#ref(layout.table)} ADD COLUMN IF NOT EXISTS ${sql.ref(column)} ${type}`.execute(
          c,
        );
        added.push(column);
      }
      const built: string[] = [];
      try {
        // Unique indexes first: a clash found while building (a write that raced the check)
        // then undoes the columns and indexes of this call only.
        for (const u of missing.uniques) {
          const spec = uniqueSpec(layout, u);
          if (await this.#createIndex(c, layout, spec)) built.push(spec.name);
        }
        for (const i of missing.indexes) {
          const spec = indexSpec(layout, i);
          if (await this.#createIndex(c, layout, spec)) built.push(spec.name);
        }
      } catch (err) {
        if (codeOf(err) !== '23505') throw err;
        for (const name of built) await this.#dropIndex(c, name);
        for (const column of added) {
          await sql`ALTER TABLE ${this.#ref(layout.table)} DROP COLUMN IF EXISTS ${sql.ref(column)}`.execute(
            c,
          );
        }
        await this.#checkUniques(c, layout, missing.uniques, await this.#columns(c, layout.table));
        throw err;
      }
      await this.record(c, layout, missing);
    });
  }

  async #contract(db: SqlDb, layout: TableLayout, elements: SchemaElements): Promise<void> {
    const run = async (c: SqlDb) => {
      if (this.#pg) await sql`SET lock_timeout = ${sql.lit(LOCK_TIMEOUT)}`.execute(c);
      for (const u of elements.uniques) await this.#dropIndex(c, uniqueSpec(layout, u).name);
      for (const i of elements.indexes) await this.#dropIndex(c, indexSpec(layout, i).name);
      const columns = await this.#columns(c, layout.table);
      for (const f of elements.fields) {
        const column = snakeCase(f.name);
        if (!columns.has(column)) continue;
        await sql`ALTER TABLE ${this.#ref(layout.table)} DROP COLUMN ${sql.ref(column)}`.execute(c);
      }
      // A table recorded nowhere yet gets its legacy elements written down first.
      await this.record(c, layout, { fields: [], indexes: [], uniques: [] });
      for (const row of toRows(elements)) {
        await sql`DELETE FROM ${this.#ref(this.table)}
          WHERE table_name = ${layout.table} AND kind = ${row.kind} AND element_key = ${row.key}`.execute(
          c,
        );
      }
    };
    if (this.#pg) await db.connection().execute(run);
    else await run(db);
  }

  /** The elements of `elements` not recorded as applied. */
  async #missing(
    db: SqlDb,
    layout: TableLayout,
    elements: SchemaElements,
  ): Promise<SchemaElements> {
    const known = new Set((await this.#recorded(db, layout)).map((r) => `${r.kind}:${r.key}`));
    return {
      fields: elements.fields.filter((f) => !known.has(`field:${f.name}`)),
      indexes: elements.indexes.filter((i) => !known.has(`index:${indexKey(i)}`)),
      uniques: elements.uniques.filter((u) => !known.has(`unique:${uniqueKey(u)}`)),
    };
  }

  /** Refuses the first unique constraint that live rows violate, naming every clashing id. */
  async #checkUniques(
    db: SqlDb,
    layout: TableLayout,
    uniques: readonly (readonly string[])[],
    columns: ReadonlySet<string>,
  ): Promise<void> {
    for (const fields of uniques) {
      const cols = fields.map(snakeCase);
      // A column added by this call holds only NULLs: nothing can clash in it.
      if (!cols.every((c) => columns.has(c))) continue;
      const refs = sql.join(cols.map((c) => sql.ref(c)));
      const present = sql.join(
        cols.map((c) => sql`${sql.ref(c)} IS NOT NULL`),
        sql` AND `,
      );
      const { rows } = await sql<{ id: string }>`
        SELECT id FROM ${this.#ref(layout.table)}
        WHERE deleted_at IS NULL AND ${present} AND (${refs}) IN (
          SELECT ${refs} FROM ${this.#ref(layout.table)}
          WHERE deleted_at IS NULL AND ${present}
          GROUP BY ${refs} HAVING count(*) > 1)
        ORDER BY id`.execute(db);
      if (rows.length > 0) {
        throw new UniqueViolationError(
          layout.resource.name,
          fields,
          rows.map((r) => r.id),
        );
      }
    }
  }

  /** Builds an index unless it exists (valid); `true` if this call built it. */
  async #createIndex(db: SqlDb, layout: TableLayout, spec: IndexSpec): Promise<boolean> {
    const cols = sql.join(spec.columns.map((c) => sql.ref(c)));
    const where = spec.unique ? sql`WHERE deleted_at IS NULL` : sql``;
    const unique = sql.raw(spec.unique ? 'UNIQUE ' : '');
    if (!this.#pg) {
      await sql`CREATE ${unique}INDEX IF NOT EXISTS ${sql.id(spec.name)}
        ON ${sql.table(layout.table)} (${cols}) ${where}`.execute(db);
      return true;
    }
    const { rows } = await sql<{ valid: boolean }>`
      SELECT i.indisvalid AS valid FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = ${spec.name} AND n.nspname = ${this.#spec.schema ?? 'public'}`.execute(db);
    if (rows[0]?.valid === true) return false;
    // A build that failed (lock timeout, clash) leaves an invalid index behind.
    if (rows.length > 0) await this.#dropIndex(db, spec.name);
    try {
      await sql`CREATE ${unique}INDEX CONCURRENTLY IF NOT EXISTS ${sql.id(spec.name)}
        ON ${this.#ref(layout.table)} (${cols}) ${where}`.execute(db);
    } catch (err) {
      await this.#dropIndex(db, spec.name).catch(() => {});
      throw err;
    }
    return true;
  }

  async #dropIndex(db: SqlDb, name: string): Promise<void> {
    if (!this.#pg) {
      await sql`DROP INDEX IF EXISTS ${sql.id(name)}`.execute(db);
      return;
    }
    await sql`DROP INDEX CONCURRENTLY IF EXISTS ${this.#ref(name)}`.execute(db);
  }

  /**
   * Runs a whole PostgreSQL `expand` or `contract` again (at most {@link DDL_ATTEMPTS} times,
   * with backoff) when one of its statements gave up on its `lock_timeout` or lost a deadlock:
   * every step is idempotent, so a repeat picks up where the last attempt stopped.
   */
  async #retryingLock<T>(step: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (err) {
        const code = codeOf(err);
        if (attempt >= DDL_ATTEMPTS || (code !== '55P03' && code !== '40P01')) throw err;
        await sleep(50 * 2 ** attempt * (0.5 + Math.random()));
      }
    }
  }

  /** The column names of a table as they are now. */
  async #columns(db: SqlDb, table: string): Promise<Set<string>> {
    const { rows } = this.#pg
      ? await sql<{ name: string }>`SELECT column_name AS name FROM information_schema.columns
          WHERE table_schema = ${this.#spec.schema ?? 'public'} AND table_name = ${table}`.execute(
          db,
        )
      : await sql<{ name: string }>`SELECT name FROM pragma_table_info(${table})`.execute(db);
    return new Set(rows.map((r) => r.name));
  }

  async #hasTable(db: SqlDb, name: string = this.table): Promise<boolean> {
    const { rows } = this.#pg
      ? await sql`SELECT 1 FROM information_schema.tables
          WHERE table_schema = ${this.#spec.schema ?? 'public'} AND table_name = ${name}`.execute(
          db,
        )
      : await sql`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ${name}`.execute(db);
    return rows.length > 0;
  }

  /**
   * The elements of a table created before elements were recorded (nothing in the record
   * table for it): those of the versions whose open-time migrations the migration table
   * lists, as the given definition's history declares them; `undefined` when none.
   */
  async #legacy(db: SqlDb, layout: TableLayout): Promise<SchemaElements | undefined> {
    const ledger = shortName(`${this.#spec.prefix}polystore_migration`);
    if (!(await this.#hasTable(db, ledger))) return undefined;
    const { rows } = await sql<{ name: string }>`SELECT name FROM ${this.#ref(ledger)}`.execute(db);
    const names = new Set(rows.map((r) => r.name));
    const versions = layout.versions.filter((v) => names.has(migrationName(layout, v)));
    if (versions.length === 0) return undefined;
    let all: SchemaElements = { fields: [], indexes: [], uniques: [] };
    for (const v of versions) {
      const more = elementsMinus(elementsOf(layout.resource, v), all);
      all = {
        fields: [...all.fields, ...more.fields],
        indexes: [...all.indexes, ...more.indexes],
        uniques: [...all.uniques, ...more.uniques],
      };
    }
    return all;
  }

  /** The recorded rows of a table, or for a table recorded nowhere, its {@link #legacy} elements (not written). */
  async #recorded(db: SqlDb, layout: TableLayout): Promise<ElementRow[]> {
    const rows = await this.#rows(db, layout.table);
    if (rows.length > 0) return rows;
    const legacy = await this.#legacy(db, layout);
    return legacy ? toRows(legacy).map((r, n) => ({ ...r, position: n + 1 })) : [];
  }

  async #createTable(db: SqlDb): Promise<void> {
    if (await this.#hasTable(db)) return;
    const create = sql`CREATE TABLE IF NOT EXISTS ${this.#ref(this.table)} (
      table_name text NOT NULL,
      kind text NOT NULL,
      element_key text NOT NULL,
      position integer NOT NULL,
      detail text NOT NULL,
      PRIMARY KEY (table_name, kind, element_key))`;
    try {
      await create.execute(db);
    } catch (err) {
      // PostgreSQL: two sessions creating it at once, one loses on the catalog's unique index.
      if (codeOf(err) !== '23505' && codeOf(err) !== '42P07') throw err;
    }
  }

  /** The recorded rows of one table, in the order they were recorded (none if nothing is recorded). */
  async #rows(db: SqlDb, table: string): Promise<ElementRow[]> {
    if (!(await this.#hasTable(db))) return [];
    const { rows } = await sql<ElementRow>`
      SELECT kind, element_key AS key, position, detail FROM ${this.#ref(this.table)}
      WHERE table_name = ${table} ORDER BY position, kind, element_key`.execute(db);
    return rows.map((r) => ({ ...r, position: Number(r.position) }));
  }
}

/** One physical index of an element. */
interface IndexSpec {
  readonly name: string;
  readonly columns: readonly string[];
  readonly unique: boolean;
}

function indexSpec(layout: TableLayout, index: IndexElement): IndexSpec {
  const columns = indexColumns(index.field, index.kind);
  return { name: indexName(layout.table, columns, false), columns, unique: false };
}

function uniqueSpec(layout: TableLayout, fields: readonly string[]): IndexSpec {
  const columns = fields.map(snakeCase);
  return { name: indexName(layout.table, columns, true), columns, unique: true };
}

function toRows(elements: SchemaElements): Omit<ElementRow, 'position'>[] {
  return [
    ...elements.fields.map((f) => ({
      kind: 'field' as const,
      key: f.name,
      detail: JSON.stringify({ kind: f.field.kind, nullable: f.field.isNullable }),
    })),
    ...elements.indexes.map((i) => ({
      kind: 'index' as const,
      key: indexKey(i),
      detail: JSON.stringify({ field: i.field, kind: i.kind }),
    })),
    ...elements.uniques.map((u) => ({
      kind: 'unique' as const,
      key: uniqueKey(u),
      detail: JSON.stringify({ fields: u }),
    })),
  ];
}

/**
 * A field's declaration by name: from the resource's current definition, else from the
 * newest version of its history that has it, else (a field only newer code knows) a bare
 * descriptor of the stored kind and nullability.
 */
function fieldOf(resource: AnyResource, name: string, detail: string): Field {
  const current = resource.fields[name] as Field | undefined;
  if (current) return current;
  for (const v of [...historyOf(resource).versions].reverse()) {
    const f = v.fields[name];
    if (f) return f;
  }
  const { kind, nullable } = JSON.parse(detail) as { kind: Field['kind']; nullable: boolean };
  return Object.freeze({ kind, isNullable: nullable }) as Field;
}

function fromRows(resource: AnyResource, rows: readonly ElementRow[]): SchemaElements {
  const fields: FieldElement[] = [];
  const indexes: IndexElement[] = [];
  const uniques: (readonly string[])[] = [];
  for (const row of rows) {
    if (row.kind === 'table') continue;
    if (row.kind === 'field') {
      fields.push(Object.freeze({ name: row.key, field: fieldOf(resource, row.key, row.detail) }));
    } else if (row.kind === 'index') {
      const { field, kind } = JSON.parse(row.detail) as IndexElement;
      indexes.push(Object.freeze({ field, kind }));
    } else {
      uniques.push(Object.freeze((JSON.parse(row.detail) as { fields: string[] }).fields));
    }
  }
  return Object.freeze({
    fields: Object.freeze(fields),
    indexes: Object.freeze(indexes),
    uniques: Object.freeze(uniques),
  });
}
