import { type Migration, type MigrationProvider, type SqlBool, sql } from 'kysely';
import type { DialectSupport, SqlDb } from './dialect/dialect-support.js';
import type { IndexLayout, TableLayout } from './layout.js';

/** The migration name of a resource version; zero-padded so names sort by version. */
export function migrationName(layout: TableLayout, version: string): string {
  const [major, minor] = version.split('.').map((n) => n.padStart(4, '0'));
  return `${layout.resource.plural}@${major}.${minor}:expand`;
}

/**
 * Generates kysely migrations from the resource schemas: one "expand" migration per
 * resource version, which creates the table (first version) or adds the columns of the
 * fields added in that version, and the indexes that need them. Every statement is
 * idempotent (`IF NOT EXISTS`), so a half-applied run can be repeated.
 */
export class SchemaMigrationProvider implements MigrationProvider {
  readonly #layouts: readonly TableLayout[];
  readonly #support: DialectSupport;
  readonly #schema: string | undefined;

  constructor(
    layouts: readonly TableLayout[],
    support: DialectSupport,
    schema: string | undefined,
  ) {
    this.#layouts = layouts;
    this.#support = support;
    this.#schema = schema;
  }

  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const layout of this.#layouts) {
      for (const [n, version] of layout.versions.entries()) {
        out[migrationName(layout, version)] = {
          up: (db) => this.#expand(db, layout, version, n === 0),
        };
      }
    }
    return out;
  }

  async #expand(db: SqlDb, layout: TableLayout, version: string, first: boolean): Promise<void> {
    const schema = this.#schema === undefined ? db.schema : db.schema.withSchema(this.#schema);
    if (this.#support.name === 'postgres') {
      // Never queue behind a long transaction holding the table: fail and let open retry.
      await sql`SET LOCAL lock_timeout = '10s'`.execute(db);
    }
    const type = (kind: Parameters<DialectSupport['columnType']>[0]) =>
      sql.raw(this.#support.columnType(kind));
    if (first) {
      let create = schema.createTable(layout.table).ifNotExists();
      for (const c of layout.columns) {
        if (c.since !== version) continue;
        create = create.addColumn(c.column, type(c.kind), (col) =>
          c.system && !c.nullable ? col.notNull() : col,
        );
      }
      await create.addPrimaryKeyConstraint(layout.primaryKey, ['id'] as never).execute();
    } else {
      // `expand` of the evolution SPI may have added some of them already.
      const existing = await this.#columns(db, layout);
      for (const c of layout.columns) {
        if (c.since !== version || existing.has(c.column)) continue;
        // New columns stay nullable: older rows read as missing and get the field default.
        await sql`ALTER TABLE ${this.#table(layout)} ADD COLUMN ${sql.ref(c.column)} ${type(c.kind)}`.execute(
          db,
        );
      }
    }
    for (const index of layout.indexes) {
      if (index.since === version) await this.#createIndex(schema, layout, index);
    }
  }

  /** The columns the table has now. */
  async #columns(db: SqlDb, layout: TableLayout): Promise<Set<string>> {
    const { rows } =
      this.#support.name === 'postgres'
        ? await sql<{ name: string }>`SELECT column_name AS name FROM information_schema.columns
            WHERE table_schema = ${this.#schema ?? 'public'} AND table_name = ${layout.table}`.execute(
            db,
          )
        : await sql<{ name: string }>`SELECT name FROM pragma_table_info(${layout.table})`.execute(
            db,
          );
    return new Set(rows.map((r) => r.name));
  }

  #table(layout: TableLayout) {
    return this.#schema === undefined
      ? sql.table(layout.table)
      : sql.id(this.#schema, layout.table);
  }

  async #createIndex(
    schema: SqlDb['schema'],
    layout: TableLayout,
    index: IndexLayout,
  ): Promise<void> {
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
    await create.execute();
  }
}
