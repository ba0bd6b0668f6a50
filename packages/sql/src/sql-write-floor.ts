import { ConfigError, compareVersions } from '@polystore/core';
import { checkWriteFloor } from '@polystore/core/adapter';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { type RawBuilder, sql } from 'kysely';
import type { DialectSupport, SqlDb } from './dialect/dialect-support.js';
import { toCoreError, WRITE_BELOW_PIN } from './errors.js';
import { shortName, type TableLayout } from './layout.js';
import type { DdlConnection } from './schema-elements.js';

/** What {@link SqlWriteFloor} needs of the backend. */
export interface SqlWriteFloorSpec {
  readonly support: DialectSupport;
  /** PostgreSQL: the schema of the tables (`undefined` on SQLite). */
  readonly schema: string | undefined;
  /** The table prefix of the store (names the PostgreSQL trigger function). */
  readonly prefix: string;
  /** The backend's connection or pool, for reads (not bound to a schema: names are qualified). */
  readonly db: SqlDb;
  /** SQLite: the better-sqlite3 handle under `db`; the triggers are replaced synchronously on it. */
  readonly sqlite?: SqliteDatabase;
  /** PostgreSQL: a connection of its own with the generous open bounds, for the DDL. */
  connect(): Promise<DdlConnection>;
}

/** How many times a PostgreSQL `setWriteFloor` that lost its `lock_timeout` or a deadlock is tried. */
const DDL_ATTEMPTS = 5;
/** The `lock_timeout` of the trigger DDL on PostgreSQL, as for `expand`: never queue long behind writers. */
const LOCK_TIMEOUT = '5s';

/** The floor recorded in a SQLite trigger's text: the literal head of its `RAISE` message. */
const SQLITE_FLOOR = new RegExp(`${WRITE_BELOW_PIN}:[^:']*:(\\d+\\.\\d+):`);

/**
 * SQLite: the version a refusal names when the refused row's version is not one of the
 * resource's history (written by another definition): its trigger cannot put the value in
 * the message (see {@link SqlWriteFloor}).
 */
export const UNKNOWN_VERSION = 'unknown';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

/**
 * The write floor of the SQL backend (`setWriteFloor` / `writeFloor`, the atomic fence of a
 * live upgrade): two `BEFORE` row triggers per resource table, which the database runs inside
 * every `INSERT` and `UPDATE` statement, so the floor is read in the same atomic step as
 * the write and never cached by a client.
 *
 * - `<table>__write_floor_ins` (`BEFORE INSERT`) refuses a row whose `object_version` is
 *   below the floor;
 * - `<table>__write_floor_upd` (`BEFORE UPDATE`) refuses a row left below the floor unless
 *   the update changes `deleted_at` (a soft delete passes; a hard delete fires neither).
 *
 * The floor is baked into the trigger as numbers and compared numerically as the row value
 * `(major, minor) < (floorMajor, floorMinor)`, so 1.10 is above 1.9, and versions that no
 * definition of this code knows (written by another release) are ordered as well as those
 * of the resource's history. A version that is not `major.minor` yields `NULL`, which a
 * trigger's `WHEN` treats as false: core never writes one. The trigger is also the one
 * record of the floor: {@link read} takes it back from the trigger itself (PostgreSQL: its
 * arguments; SQLite: its text), so what is enforced and what is reported cannot disagree.
 *
 * The refusal is an error whose message is `polystore_write_below_pin:<resource>:<floor>:<version>`
 * (PostgreSQL: a shared plpgsql function per schema and prefix, SQLSTATE `P0001`; SQLite:
 * `RAISE(ABORT, …)` with a literal message per version of the resource's history below the
 * floor, and {@link UNKNOWN_VERSION} for every other, since SQLite before 3.47 takes no
 * expression there and the file must stay readable by it); `errors.ts` turns it into
 * `WriteBelowPinError`. A table without the triggers (no floor set) runs no trigger at
 * all: writes cost nothing more until a live upgrade sets a floor.
 *
 * @example
 * ```ts
 * const floor = new SqlWriteFloor({ support, schema, prefix, db, connect });
 * await floor.raise(layout, '1.1'); // from now on a write at 1.0 is WriteBelowPinError
 * await floor.read(layout); // '1.1'
 * ```
 */
export class SqlWriteFloor {
  readonly #spec: SqlWriteFloorSpec;

  constructor(spec: SqlWriteFloorSpec) {
    this.#spec = spec;
  }

  get #pg(): boolean {
    return this.#spec.support.name === 'postgres';
  }

  /** The PostgreSQL trigger function, shared by the tables of one schema and prefix. */
  get #function(): string {
    return shortName(`${this.#spec.prefix}polystore_write_below_pin`);
  }

  #ref(name: string): RawBuilder<unknown> {
    return this.#spec.schema === undefined ? sql.table(name) : sql.id(this.#spec.schema, name);
  }

  /**
   * Raises the floor of `layout`'s table to `floor` (a lower or equal floor than the one in
   * force changes nothing): the current floor is read and the triggers replaced in one
   * transaction that holds the table against writers (PostgreSQL: `SHARE ROW EXCLUSIVE`, so
   * a write in flight finishes first and every later one sees the new triggers; SQLite:
   * `BEGIN IMMEDIATE`). PostgreSQL runs it under a 5 s `lock_timeout`, tried again up to
   * 5 times, as `expand` does.
   */
  async raise(layout: TableLayout, floor: string): Promise<void> {
    const [major, minor] = checkWriteFloor(layout.resource, floor).map(String) as [string, string];
    try {
      if (this.#pg) await this.#raisePostgres(layout, floor, major, minor);
      else await this.#raiseSqlite(layout, floor, major, minor);
    } catch (err) {
      throw toCoreError(err, { layout });
    }
  }

  /** The floor in force on `layout`'s table (`undefined`: none, or no such table). */
  async read(layout: TableLayout): Promise<string | undefined> {
    try {
      return this.#pg
        ? await this.#readPostgres(this.#spec.db, layout)
        : await this.#readSqlite(layout);
    } catch (err) {
      throw toCoreError(err, { layout });
    }
  }

  /** `(major, minor) < (floor)` over `NEW.object_version`; `NULL` for a version not `major.minor`. */
  #below(major: string, minor: string): string {
    const floor = `(${BigInt(major)}, ${BigInt(minor)})`;
    if (this.#pg) {
      const part = (re: string) => `substring(NEW.object_version from '${re}')::numeric`;
      return `(${part('^([0-9]+)[.][0-9]+$')}, ${part('^[0-9]+[.]([0-9]+)$')}) < ${floor}`;
    }
    const v = 'NEW.object_version';
    // GLOBs: a digit first, a digit after the one dot, nothing but digits and that dot.
    const shape = `${v} GLOB '[0-9]*.[0-9]*' AND ${v} NOT GLOB '*[^0-9.]*' AND ${v} NOT GLOB '*.*.*'`;
    const dot = `instr(${v}, '.')`;
    const parts = `(CAST(substr(${v}, 1, ${dot} - 1) AS INTEGER), CAST(substr(${v}, ${dot} + 1) AS INTEGER))`;
    return `CASE WHEN ${shape} THEN ${parts} < ${floor} END`;
  }

  #triggerNames(layout: TableLayout): { insert: string; update: string } {
    return {
      insert: shortName(`${layout.table}__write_floor_ins`),
      update: shortName(`${layout.table}__write_floor_upd`),
    };
  }

  async #raisePostgres(
    layout: TableLayout,
    floor: string,
    major: string,
    minor: string,
  ): Promise<void> {
    const conn = await this.#spec.connect();
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await conn.db.transaction().execute(async (trx) => {
            // Setters of one schema and prefix take turns (they share the trigger function),
            // then the table is held against writers while its triggers are replaced.
            const key = `polystore write floor ${this.#spec.schema}.${this.#function}`;
            await sql`SET LOCAL lock_timeout = ${sql.lit(LOCK_TIMEOUT)};
              SELECT pg_advisory_xact_lock(hashtext(${sql.lit(key)}));
              LOCK TABLE ${this.#ref(layout.table)} IN SHARE ROW EXCLUSIVE MODE`.execute(trx);
            const current = await this.#readPostgres(trx, layout);
            if (current !== undefined && compareVersions(current, floor) >= 0) return;
            await this.#replacePostgres(trx, layout, floor, major, minor);
          });
          return;
        } catch (err) {
          const code = codeOf(err);
          if (attempt >= DDL_ATTEMPTS || (code !== '55P03' && code !== '40P01')) throw err;
          await sleep(50 * 2 ** attempt * (0.5 + Math.random()));
        }
      }
    } finally {
      await conn.release();
    }
  }

  async #replacePostgres(
    db: SqlDb,
    layout: TableLayout,
    floor: string,
    major: string,
    minor: string,
  ): Promise<void> {
    const fn = this.#ref(this.#function);
    const table = this.#ref(layout.table);
    const names = this.#triggerNames(layout);
    const args = sql`${sql.lit(layout.resource.name)}, ${sql.lit(floor)}`;
    const below = sql.raw(this.#below(major, minor));
    const statements = [
      sql`CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
          RAISE EXCEPTION USING ERRCODE = 'P0001',
            MESSAGE = ${sql.lit(`${WRITE_BELOW_PIN}:`)} || TG_ARGV[0] || ':' || TG_ARGV[1] || ':' || NEW.object_version,
            HINT = 'the store accepts writes at the fleet''s pin or newer: this process was left behind by a live upgrade';
        END
      $fn$`,
      sql`DROP TRIGGER IF EXISTS ${sql.id(names.insert)} ON ${table}`,
      sql`DROP TRIGGER IF EXISTS ${sql.id(names.update)} ON ${table}`,
      sql`CREATE TRIGGER ${sql.id(names.insert)} BEFORE INSERT ON ${table} FOR EACH ROW
        WHEN (${below}) EXECUTE FUNCTION ${fn}(${args})`,
      sql`CREATE TRIGGER ${sql.id(names.update)} BEFORE UPDATE ON ${table} FOR EACH ROW
        WHEN ((${below}) AND NEW.deleted_at IS NOT DISTINCT FROM OLD.deleted_at)
        EXECUTE FUNCTION ${fn}(${args})`,
    ];
    // Every value is a literal (DDL takes no parameters): one message, one round trip.
    await sql.raw(statements.map((q) => q.compile(db).sql).join(';\n')).execute(db);
  }

  /** The floor argument of the table's insert trigger. */
  async #readPostgres(db: SqlDb, layout: TableLayout): Promise<string | undefined> {
    const { rows } = await sql<{ args: Uint8Array }>`
      SELECT t.tgargs AS args FROM pg_trigger t
      JOIN pg_class c ON c.oid = t.tgrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ${this.#spec.schema ?? 'public'} AND c.relname = ${layout.table}
        AND t.tgname = ${this.#triggerNames(layout).insert}`.execute(db);
    const args = rows[0]?.args;
    if (args === undefined) return undefined;
    // `tgargs`: each argument followed by a NUL byte: [resource, floor].
    return Buffer.from(args).toString('utf8').split('\0')[1];
  }

  #raw(): SqliteDatabase {
    const raw = this.#spec.sqlite;
    if (!raw) throw new ConfigError('sql: the SQLite write floor needs the better-sqlite3 handle');
    return raw;
  }

  async #raiseSqlite(
    layout: TableLayout,
    floor: string,
    major: string,
    minor: string,
  ): Promise<void> {
    const raw = this.#raw();
    const names = this.#triggerNames(layout);
    const table = sql.table(layout.table);
    const below = sql.raw(this.#below(major, minor));
    // RAISE takes only a literal message before SQLite 3.47, and a file's schema must stay
    // readable by older SQLite (the sqlite3 shell of a distribution): one RAISE per version
    // of the resource's history below the floor, then one for every other version.
    const head = `${WRITE_BELOW_PIN}:${layout.resource.name}:${floor}:`;
    const known = layout.versions.filter((v) => compareVersions(v, floor) < 0);
    const body = sql.join(
      [
        ...known.map(
          (v) =>
            sql`SELECT RAISE(ABORT, ${sql.lit(head + v)}) WHERE NEW.object_version = ${sql.lit(v)};`,
        ),
        sql`SELECT RAISE(ABORT, ${sql.lit(head + UNKNOWN_VERSION)});`,
      ],
      sql` `,
    );
    const statements = [
      sql`DROP TRIGGER IF EXISTS ${sql.id(names.insert)}`,
      sql`DROP TRIGGER IF EXISTS ${sql.id(names.update)}`,
      sql`CREATE TRIGGER ${sql.id(names.insert)} BEFORE INSERT ON ${table} FOR EACH ROW
        WHEN ${below}
        BEGIN ${body} END`,
      sql`CREATE TRIGGER ${sql.id(names.update)} BEFORE UPDATE ON ${table} FOR EACH ROW
        WHEN (${below}) AND NEW.deleted_at IS OLD.deleted_at
        BEGIN ${body} END`,
    ].map((q) => q.compile(this.#spec.db).sql);
    // Holding the backend's one connection keeps kysely transactions off the handle;
    // the transaction itself is synchronous, so the write lock is never held across an
    // await (a write of another handle on the same file in this process would otherwise
    // block this thread in its busy handler while this lock is held).
    await this.#spec.db.connection().execute(async () => {
      raw
        .transaction(() => {
          const current = this.#readSqliteSync(raw, layout);
          if (current !== undefined && compareVersions(current, floor) >= 0) return;
          for (const statement of statements) raw.prepare(statement).run();
        })
        .immediate();
    });
  }

  /** The floor in the text of the table's insert trigger. */
  async #readSqlite(layout: TableLayout): Promise<string | undefined> {
    const { rows } = await sql<{ sql: string }>`
      SELECT sql FROM sqlite_master WHERE type = 'trigger'
        AND name = ${this.#triggerNames(layout).insert}`.execute(this.#spec.db);
    return floorInTrigger(rows[0]?.sql);
  }

  /** {@link #readSqlite} on the raw handle, inside {@link #raiseSqlite}'s transaction. */
  #readSqliteSync(raw: SqliteDatabase, layout: TableLayout): string | undefined {
    const row = raw
      .prepare(`SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?`)
      .get(this.#triggerNames(layout).insert) as { sql: string } | undefined;
    return floorInTrigger(row?.sql);
  }
}

function floorInTrigger(text: string | undefined): string | undefined {
  return text === undefined ? undefined : SQLITE_FLOOR.exec(text)?.[1];
}
