import { type AnyResource, type Field, historyOf } from '@polystore/core';
import {
  elementsOf,
  elementsUnion,
  type FieldElement,
  type IndexElement,
  indexKey,
  NO_ELEMENTS,
  type SchemaElements,
  UniqueViolationError,
  uniqueKey,
  withPending,
} from '@polystore/core/adapter';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { type CompiledQuery, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { DialectSupport, SqlDb } from './dialect/dialect-support.js';
import { isSchemaMismatch, toCoreError } from './errors.js';
import { indexColumns, indexName, shortName, snakeCase, type TableLayout } from './layout.js';

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
  /** How long {@link SchemaElementsStore.open} keeps trying when other processes open the same store. */
  readonly openTimeoutMs: number;
  /**
   * SQLite: the better-sqlite3 handle under `db`. A brand-new store is created in one
   * synchronous `BEGIN IMMEDIATE` transaction on it, so the write lock is never held
   * across an `await`: a write of another store of the same file in this process blocks
   * the thread in SQLite's busy handler, and would otherwise wait for a lock that only
   * this (blocked) thread can release.
   */
  readonly sqlite?: SqliteDatabase;
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

/** What an open found of its tables, read inside its transaction. */
interface Found {
  /** PostgreSQL: whether the schema exists (always on SQLite). */
  readonly schema: boolean;
  /** Which of the names asked for are tables. */
  readonly tables: ReadonlySet<string>;
}

/** How many times a PostgreSQL evolution call that lost its `lock_timeout` is tried. */
const DDL_ATTEMPTS = 5;
/** The `lock_timeout` of evolution DDL on PostgreSQL: never queue long behind a transaction. */
const LOCK_TIMEOUT = '5s';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * SQLite: runs `body` in one `BEGIN IMMEDIATE` transaction on a connection held for it.
 * The write lock is taken first, through the busy handler (`busy_timeout`), so the body's
 * reads and writes see one state that no other connection can change. A `BEGIN` (deferred,
 * kysely's `transaction()`) would read first and then fail at its first write, at once and
 * whatever the busy timeout, with `SQLITE_BUSY_SNAPSHOT` ("database is locked") whenever
 * another connection wrote after that read: in WAL mode a read snapshot older than the
 * last commit cannot become a write transaction.
 */
async function immediate(db: SqlDb, body: (c: SqlDb) => Promise<void>): Promise<void> {
  await db.connection().execute(async (c) => {
    await sql`BEGIN IMMEDIATE`.execute(c);
    try {
      await body(c);
      await sql`COMMIT`.execute(c);
    } catch (err) {
      await sql`ROLLBACK`.execute(c).catch(() => {});
      throw err;
    }
  });
}

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
 * built again. SQLite runs each call in one `BEGIN IMMEDIATE` transaction (its DDL is
 * transactional), so a refused call changes nothing, and a call that other processes keep
 * writing alongside waits for the write lock (`busy_timeout`) instead of failing.
 */
export class SchemaElementsStore {
  readonly #spec: SchemaElementsSpec;
  /** The name of the table that records the applied elements. */
  readonly table: string;

  constructor(spec: SchemaElementsSpec) {
    this.#spec = spec;
    this.table = shortName(`${spec.prefix}polystore_elements`);
  }

  /** The migration ledger of the earlier open (kysely's `Migrator`), read and never written. */
  get #ledger(): string {
    return shortName(`${this.#spec.prefix}polystore_migration`);
  }

  get #pg(): boolean {
    return this.#spec.support.name === 'postgres';
  }

  #ref(name: string): RawBuilder<unknown> {
    return this.#spec.schema === undefined ? sql.table(name) : sql.id(this.#spec.schema, name);
  }

  /**
   * Makes the opened tables ready without changing an existing one. One statement reads
   * which of them are recorded: a store opened before needs nothing else. Otherwise, in one
   * transaction, a brand-new table is created with every column and index of its
   * resource's current version and those elements are recorded; a table the earlier
   * ledger-based open made gets the elements its migration ledger lists recorded, and no
   * DDL; a table recorded nowhere and in no ledger is left alone (core then names what it
   * lacks). Several processes opening one new store take turns (SQLite: `BEGIN IMMEDIATE`;
   * PostgreSQL: an advisory lock for the transaction) and look again once it is theirs; a
   * lost race is tried again until `openTimeoutMs` has passed.
   */
  async open(layouts: readonly TableLayout[]): Promise<void> {
    if (layouts.length === 0) return;
    const deadline = Date.now() + this.#spec.openTimeoutMs;
    for (let pause = 5; ; pause = Math.min(pause * 2, 200)) {
      try {
        const recorded = await this.#recordedAtOpen(layouts);
        const pending = layouts.filter((l) => !recorded.has(l.table));
        if (pending.length > 0) await this.#prepare(pending);
        return;
      } catch (err) {
        if (!isOpenRace(err) || Date.now() + pause > deadline) throw toCoreError(err);
        await sleep(pause * (0.5 + Math.random()));
      }
    }
  }

  /** The opened tables the record table lists, read with the backend's own connection. */
  async #recordedAtOpen(layouts: readonly TableLayout[]): Promise<Set<string>> {
    try {
      return await this.#recordedTables(this.#spec.db, layouts);
    } catch (err) {
      // No record table: a brand-new store (or one from before elements were recorded).
      if (isSchemaMismatch(err)) return new Set();
      // PostgreSQL: an ordinary statement_timeout too short even for this read; the open
      // looks again on its own connection, with the generous open bounds.
      if (codeOf(err) === '57014') return new Set();
      throw err;
    }
  }

  async #recordedTables(db: SqlDb, layouts: readonly TableLayout[]): Promise<Set<string>> {
    const names = sql.join(layouts.map((l) => l.table));
    const { rows } = await sql<{ name: string }>`
      SELECT DISTINCT table_name AS name FROM ${this.#ref(this.table)}
      WHERE table_name IN (${names})`.execute(db);
    return new Set(rows.map((r) => r.name));
  }

  /** Creates or records the tables not recorded yet, in one transaction that has the store to itself. */
  async #prepare(layouts: readonly TableLayout[]): Promise<void> {
    const conn = await this.#spec.connect();
    try {
      if (this.#pg) {
        await conn.db.transaction().execute(async (trx) => {
          const key = `polystore open ${this.#spec.schema}.${this.table}`;
          await sql`SET LOCAL lock_timeout = ${sql.lit(LOCK_TIMEOUT)};
            SELECT pg_advisory_xact_lock(hashtext(${sql.lit(key)}))`.execute(trx);
          await this.#createOrRecord(trx, layouts);
        });
        return;
      }
      const raw = this.#spec.sqlite;
      if (raw) {
        // Planned with async reads, applied in one synchronous IMMEDIATE transaction that
        // first checks nobody changed what the plan read (else the open loop plans again).
        const plan = await this.#plan(conn.db, layouts);
        if (plan.statements.length === 0) return;
        raw
          .transaction(() => {
            if (!sameSnapshot(this.#snapshotSync(raw, plan.names), plan.snapshot))
              throw new OpenRaceLost();
            for (const q of plan.statements) raw.prepare(q.sql).run(...(q.parameters as unknown[]));
          })
          .immediate();
        return;
      }
      await immediate(conn.db, (c) => this.#createOrRecord(c, layouts));
    } finally {
      await conn.release();
    }
  }

  /** The body of {@link #prepare}: what is there now decides, since another process may have come first. */
  async #createOrRecord(db: SqlDb, layouts: readonly TableLayout[]): Promise<void> {
    const { statements } = await this.#plan(db, layouts);
    if (statements.length === 0) return;
    if (this.#pg) {
      // Values are literals: one message, one round trip (PostgreSQL's simple protocol).
      await sql.raw(statements.map((q) => q.sql).join(';\n')).execute(db);
    } else {
      for (const q of statements) await db.executeQuery(q);
    }
  }

  /**
   * SQLite, inside the open's transaction: which of `names` are tables, and which opened
   * tables the record table lists: what {@link #plan} based its statements on.
   */
  #snapshotSync(raw: SqliteDatabase, names: readonly string[]): OpenSnapshot {
    const marks = names.map(() => '?').join(', ');
    const tables = new Set(
      (
        raw
          .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (${marks})`)
          .all(...names) as { name: string }[]
      ).map((r) => r.name),
    );
    const recorded = new Set<string>();
    if (tables.has(this.table)) {
      const rows = raw
        .prepare(
          `SELECT DISTINCT table_name AS name FROM "${this.table}" WHERE table_name IN (${marks})`,
        )
        .all(...names) as { name: string }[];
      for (const r of rows) recorded.add(r.name);
    }
    return { tables, recorded };
  }

  /** The statements that create or record the opened tables not recorded yet, and what they were planned on. */
  async #plan(
    db: SqlDb,
    layouts: readonly TableLayout[],
  ): Promise<{ statements: CompiledQuery[]; names: string[]; snapshot: OpenSnapshot }> {
    const ledger = this.#ledger;
    const names = [this.table, ledger, ...layouts.map((l) => l.table)];
    const found = await this.#find(db, names);
    const recorded = found.tables.has(this.table)
      ? await this.#recordedTables(db, layouts)
      : new Set<string>();
    const snapshot = { tables: found.tables, recorded };
    const created: TableLayout[] = [];
    const rows: TableRow[] = [];
    for (const layout of layouts) {
      if (recorded.has(layout.table)) continue;
      if (!found.tables.has(layout.table)) {
        created.push(layout);
        rows.push(...positioned(layout.table, elementsOf(layout.resource)));
        continue;
      }
      const legacy = found.tables.has(ledger) ? await this.#legacy(db, layout) : undefined;
      if (legacy) rows.push(...positioned(layout.table, legacy));
    }
    if (rows.length === 0) return { statements: [], names, snapshot };
    const statements: CompiledQuery[] = [];
    if (!found.schema) {
      statements.push(db.schema.createSchema(this.#spec.schema!).ifNotExists().compile());
    }
    if (!found.tables.has(this.table)) statements.push(this.#createTableStatement().compile(db));
    for (const layout of created) statements.push(...this.#newTable(db, layout));
    statements.push(this.#insertStatement(rows).compile(db));
    return { statements, names, snapshot };
  }

  /** Whether the schema exists, and which of `names` are tables in it. */
  async #find(db: SqlDb, names: readonly string[]): Promise<Found> {
    const list = sql.join(names);
    if (!this.#pg) {
      const { rows } = await sql<{ name: string }>`
        SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (${list})`.execute(db);
      return { schema: true, tables: new Set(rows.map((r) => r.name)) };
    }
    const { rows } = await sql<{ name: string | null }>`
      SELECT c.relname AS name FROM pg_namespace n
      LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p') AND c.relname IN (${list})
      WHERE n.nspname = ${this.#spec.schema ?? 'public'}`.execute(db);
    const tables = rows.flatMap((r) => (r.name === null ? [] : [r.name]));
    return { schema: rows.length > 0, tables: new Set(tables) };
  }

  /** The statements that create a brand-new table: every column, the primary key, every index. */
  #newTable(db: SqlDb, layout: TableLayout): CompiledQuery[] {
    const schema =
      this.#spec.schema === undefined ? db.schema : db.schema.withSchema(this.#spec.schema);
    const type = (kind: Parameters<DialectSupport['columnType']>[0]) =>
      sql.raw(this.#spec.support.columnType(kind));
    let table = schema.createTable(layout.table).ifNotExists();
    for (const c of layout.columns) {
      // Field columns stay nullable: records written under another layout may lack them.
      table = table.addColumn(c.column, type(c.kind), (col) =>
        c.system && !c.nullable ? col.notNull() : col,
      );
    }
    const out = [table.addPrimaryKeyConstraint(layout.primaryKey, ['id'] as never).compile()];
    for (const index of layout.indexes) {
      let create = schema
        .createIndex(index.name)
        .ifNotExists()
        .on(layout.table)
        .columns([...index.columns]);
      if (index.unique) {
        create = create.unique().where(sql<SqlBool>`${sql.ref('deleted_at')} IS NULL`);
      } else if (index.deletedOnly) {
        create = create.where(sql<SqlBool>`${sql.ref('deleted_at')} IS NOT NULL`);
      }
      out.push(create.compile());
    }
    return out;
  }

  /** One `INSERT` of element rows, values as literals; rows recorded already are kept. */
  #insertStatement(rows: readonly TableRow[]): RawBuilder<unknown> {
    const values = rows.map(
      (r) =>
        sql`(${sql.lit(r.table)}, ${sql.lit(r.kind)}, ${sql.lit(r.key)}, ${sql.lit(r.position)}, ${sql.lit(r.detail)})`,
    );
    return sql`INSERT INTO ${this.#ref(this.table)} (table_name, kind, element_key, position, detail)
      VALUES ${sql.join(values)} ON CONFLICT DO NOTHING`;
  }

  /**
   * Records `elements` as applied to `layout`'s table (those not recorded yet), creating the
   * record table if needed, and marks the fields `elements.pending` names write-only (new
   * rows carry the mark; fields recorded before get it). The rows and the marks are written
   * in one step: SQLite runs inside the caller's transaction; PostgreSQL sends them as one
   * multi-statement message, which the server runs as one transaction.
   */
  async record(db: SqlDb, layout: TableLayout, elements: SchemaElements): Promise<void> {
    await this.#createTable(db);
    const rows = await this.#rows(db, layout.table);
    const known = new Set(rows.map((r) => `${r.kind}:${r.key}`));
    let position = rows.reduce((max, r) => Math.max(max, r.position), 0);
    // A table recorded nowhere yet (created before elements were recorded): its legacy elements first.
    const legacy = rows.length === 0 ? await this.#legacy(db, layout) : undefined;
    const marker = { kind: 'table' as const, key: '', detail: '{}' };
    const pending = new Set(elements.pending ?? []);
    // Fields recorded before (public until now, or marked already) that this call makes write-only.
    const marked = [...pending].filter((name) => known.has(`field:${name}`));
    const added: TableRow[] = [];
    for (const row of [marker, ...(legacy ? toRows(legacy) : []), ...toRows(elements)]) {
      if (known.has(`${row.kind}:${row.key}`)) continue;
      known.add(`${row.kind}:${row.key}`);
      if (row.kind !== 'table') position++;
      const detail =
        row.kind === 'field' && pending.has(row.key) ? markPending(row.detail) : row.detail;
      added.push({
        ...row,
        detail,
        table: layout.table,
        position: row.kind === 'table' ? 0 : position,
      });
    }
    const statements: RawBuilder<unknown>[] = [];
    if (added.length > 0) statements.push(this.#insertStatement(added));
    if (marked.length > 0) statements.push(this.#markStatement(layout.table, marked, true));
    if (this.#pg && statements.length > 1) {
      // Values are literals: one message, which PostgreSQL runs as one implicit transaction.
      await sql.raw(statements.map((q) => q.compile(db).sql).join(';\n')).execute(db);
    } else {
      for (const q of statements) await q.execute(db);
    }
  }

  /**
   * Marks recorded fields write-only (`pending: true` in their JSON detail) or public (the
   * key removed): one `UPDATE` that rewrites each detail in place, so concurrent marks and
   * publishes never overwrite one another's other fields. Values are literals.
   */
  #markStatement(table: string, fields: readonly string[], pending: boolean): RawBuilder<unknown> {
    const detail = this.#pg
      ? pending
        ? sql`(detail::jsonb || '{"pending": true}'::jsonb)::text`
        : sql`(detail::jsonb - 'pending')::text`
      : pending
        ? sql`json_set(detail, '$.pending', json('true'))`
        : sql`json_remove(detail, '$.pending')`;
    const names = sql.join(fields.map((name) => sql.lit(name)));
    return sql`UPDATE ${this.#ref(this.table)} SET detail = ${detail}
      WHERE table_name = ${sql.lit(table)} AND kind = 'field' AND element_key IN (${names})`;
  }

  /**
   * Makes write-only fields of `layout`'s table public: one `UPDATE` removing their marks
   * (atomic on its own, and idempotent); fields not recorded or not write-only are left
   * as they are, and a store with no record table has nothing to publish.
   */
  async publish(layout: TableLayout, fields: readonly string[]): Promise<void> {
    if (fields.length === 0) return;
    const conn = await this.#spec.connect();
    try {
      await this.#markStatement(layout.table, [...new Set(fields)], false).execute(conn.db);
    } catch (err) {
      if (isSchemaMismatch(err)) return;
      throw toCoreError(err, { layout });
    } finally {
      await conn.release();
    }
  }

  /** The elements recorded as applied to `layout`'s table (none if nothing is recorded; never creates anything). */
  async applied(layout: TableLayout): Promise<SchemaElements> {
    try {
      try {
        return fromRows(layout.resource, await this.#recorded(this.#spec.db, layout));
      } catch (err) {
        // PostgreSQL: an ordinary statement_timeout too short even for this read (the schema
        // check of an open on a loaded server): read again with the open's bounds.
        if (codeOf(err) !== '57014') throw err;
        const conn = await this.#spec.connect();
        try {
          return fromRows(layout.resource, await this.#recorded(conn.db, layout));
        } finally {
          await conn.release();
        }
      }
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
      else await immediate(conn.db, (c) => this.#expandSqlite(c, layout, elements));
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
        await immediate(conn.db, (c) => this.#contract(c, layout, elements));
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

  /** The elements of `elements` not recorded as applied, with every write-only mark of `elements`. */
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
      // Marks apply to fields added now and to fields recorded before alike.
      ...(elements.pending?.length ? { pending: elements.pending } : {}),
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

  async #hasTable(db: SqlDb, name: string): Promise<boolean> {
    const { rows } = this.#pg
      ? await sql`SELECT 1 FROM information_schema.tables
          WHERE table_schema = ${this.#spec.schema ?? 'public'} AND table_name = ${name}`.execute(
          db,
        )
      : await sql`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ${name}`.execute(db);
    return rows.length > 0;
  }

  /**
   * The elements of a table the earlier open made (before elements were recorded, or by the
   * ledger-based open that recorded none for it): those of the versions whose migrations
   * that open's ledger lists, as the given definition's history declares them; `undefined`
   * when none. Read only: the ledger is never written any more.
   */
  async #legacy(db: SqlDb, layout: TableLayout): Promise<SchemaElements | undefined> {
    let names: Set<string>;
    try {
      const { rows } = await sql<{
        name: string;
      }>`SELECT name FROM ${this.#ref(this.#ledger)}`.execute(db);
      names = new Set(rows.map((r) => r.name));
    } catch (err) {
      if (isSchemaMismatch(err)) return undefined;
      throw err;
    }
    const versions = layout.versions.filter((v) => names.has(ledgerEntry(layout, v)));
    if (versions.length === 0) return undefined;
    return versions.reduce<SchemaElements>(
      (all, v) => elementsUnion(all, elementsOf(layout.resource, v)),
      NO_ELEMENTS,
    );
  }

  /** The recorded rows of a table, or for a table recorded nowhere, its {@link #legacy} elements (not written). */
  async #recorded(db: SqlDb, layout: TableLayout): Promise<ElementRow[]> {
    const rows = await this.#rows(db, layout.table);
    if (rows.length > 0) return rows;
    const legacy = await this.#legacy(db, layout);
    return legacy ? toRows(legacy).map((r, n) => ({ ...r, position: n + 1 })) : [];
  }

  async #createTable(db: SqlDb): Promise<void> {
    if (await this.#hasTable(db, this.table)) return;
    try {
      await this.#createTableStatement().execute(db);
    } catch (err) {
      // PostgreSQL: two sessions creating it at once, one loses on the catalog's unique index.
      if (codeOf(err) !== '23505' && codeOf(err) !== '42P07') throw err;
    }
  }

  #createTableStatement(): RawBuilder<unknown> {
    return sql`CREATE TABLE IF NOT EXISTS ${this.#ref(this.table)} (
      table_name text NOT NULL,
      kind text NOT NULL,
      element_key text NOT NULL,
      position integer NOT NULL,
      detail text NOT NULL,
      PRIMARY KEY (table_name, kind, element_key))`;
  }

  /** The recorded rows of one table, in the order they were recorded (none if nothing is recorded). */
  async #rows(db: SqlDb, table: string): Promise<ElementRow[]> {
    try {
      const { rows } = await sql<ElementRow>`
        SELECT kind, element_key AS key, position, detail FROM ${this.#ref(this.table)}
        WHERE table_name = ${table} ORDER BY position, kind, element_key`.execute(db);
      return rows.map((r) => ({ ...r, position: Number(r.position) }));
    } catch (err) {
      // No record table yet: nothing is recorded.
      if (isSchemaMismatch(err)) return [];
      throw err;
    }
  }
}

/** An element row of one table, ready to insert. */
interface TableRow extends ElementRow {
  readonly table: string;
}

/** The entry the earlier ledger-based open wrote for a resource version's migration. */
function ledgerEntry(layout: TableLayout, version: string): string {
  const [major, minor] = version.split('.').map((n) => n.padStart(4, '0'));
  return `${layout.resource.plural}@${major}.${minor}:expand`;
}

/** The rows that record `elements` for a table: its marker, then each element in order. */
function positioned(table: string, elements: SchemaElements): TableRow[] {
  const marker = { table, kind: 'table' as const, key: '', position: 0, detail: '{}' };
  return [marker, ...toRows(elements).map((r, n) => ({ ...r, table, position: n + 1 }))];
}

/** Whether an open lost a race with another process opening the same store: try again. */
/** What an open's plan was based on: which tables exist, which opened tables are recorded. */
interface OpenSnapshot {
  readonly tables: ReadonlySet<string>;
  readonly recorded: ReadonlySet<string>;
}

function sameSnapshot(a: OpenSnapshot, b: OpenSnapshot): boolean {
  const same = (x: ReadonlySet<string>, y: ReadonlySet<string>) =>
    x.size === y.size && [...x].every((v) => y.has(v));
  return same(a.tables, b.tables) && same(a.recorded, b.recorded);
}

/** Another process changed the store between an open's plan and its transaction: plan again. */
class OpenRaceLost extends Error {}

function isOpenRace(err: unknown): boolean {
  if (err instanceof OpenRaceLost) return true;
  const code = codeOf(err);
  if (typeof code !== 'string') return false;
  // Catalog unique index (two creators), relation/schema exists, deadlock, serialization, lock_timeout.
  if (['23505', '42P07', '42P06', '40P01', '40001', '55P03'].includes(code)) return true;
  return /^SQLITE_(BUSY|LOCKED)/.test(code);
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
  const pending: string[] = [];
  for (const row of rows) {
    if (row.kind === 'table') continue;
    if (row.kind === 'field') {
      fields.push(Object.freeze({ name: row.key, field: fieldOf(resource, row.key, row.detail) }));
      if ((JSON.parse(row.detail) as { pending?: unknown }).pending === true) pending.push(row.key);
    } else if (row.kind === 'index') {
      const { field, kind } = JSON.parse(row.detail) as IndexElement;
      indexes.push(Object.freeze({ field, kind }));
    } else {
      uniques.push(Object.freeze((JSON.parse(row.detail) as { fields: string[] }).fields));
    }
  }
  return withPending(
    {
      fields: Object.freeze(fields),
      indexes: Object.freeze(indexes),
      uniques: Object.freeze(uniques),
    },
    pending,
  );
}

/** A field row's detail with the write-only mark (see {@link SchemaElementsStore.publish}). */
function markPending(detail: string): string {
  return JSON.stringify({ ...(JSON.parse(detail) as object), pending: true });
}
