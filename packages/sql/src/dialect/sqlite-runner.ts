import type { Database, Statement } from 'better-sqlite3';
import { CompiledQuery } from 'kysely';
import type { SqlDb } from './dialect-support.js';
import {
  NOT_NOW,
  type Row,
  type RowArrays,
  STATEMENT_CACHE_SIZE,
  type StatementRunner,
} from './statement-runner.js';

/**
 * Runs a table's hot statements on the backend's better-sqlite3 handle, each text
 * prepared once (kysely's driver prepares every statement it runs, which costs more than
 * running it). SQLite re-prepares a kept statement itself when the schema changed (an
 * `expand` added a column: a kept `SELECT *` then returns it too).
 *
 * Evolution (`expand`, `contract`, the write floor) runs async `BEGIN IMMEDIATE`
 * transactions holding kysely's one connection; a statement run on the handle meanwhile
 * would run inside that transaction. While one is open the statement goes through kysely
 * instead, which queues it behind the connection until the transaction ends.
 *
 * @example
 * ```ts
 * const runner = new SqliteRunner(database, db);
 * const rows = await runner.rows('SELECT * FROM "widgets" WHERE "id" = ?', [id]);
 * ```
 */
export class SqliteRunner implements StatementRunner {
  readonly #database: Database;
  readonly #db: SqlDb;
  readonly #prepared = new Map<string, Statement>();
  /** The kept statements that return rows as arrays (see {@link rowArrays}). */
  readonly #preparedRaw = new Map<string, Statement>();
  /** The kept statements of {@link row}, with whether each only reads. */
  readonly #oneRow = new Map<string, { statement: Statement; readonly: boolean }>();

  constructor(database: Database, db: SqlDb) {
    this.#database = database;
    this.#db = db;
  }

  async rows(text: string, params: readonly unknown[]): Promise<Row[]> {
    if (this.#database.inTransaction) return this.#queued(text, params);
    return this.#statement(text).all(params) as Row[];
  }

  /**
   * The first row of `text`. A statement that writes (`UPDATE … RETURNING`) is run to its
   * end with `all`: `get` resets it after the first row, and SQLite runs its WAL hook (the
   * automatic checkpoint) only when a statement steps to its end, so writes through `get`
   * never checkpoint and the WAL grows without bound (1.3 GB after 80,000 updates, each
   * write slower as it grows).
   */
  async row(text: string, params: readonly unknown[]): Promise<Row | undefined> {
    if (this.#database.inTransaction) return (await this.#queued(text, params))[0];
    return this.#first(text, params);
  }

  rowNow(text: string, params: readonly unknown[]): Row | undefined | typeof NOT_NOW {
    if (this.#database.inTransaction) return NOT_NOW;
    return this.#first(text, params);
  }

  /** The first row of `text`, run on the handle (see {@link row}). */
  #first(text: string, params: readonly unknown[]): Row | undefined {
    let kept = this.#oneRow.get(text);
    if (kept === undefined) {
      const statement = this.#database.prepare(text);
      // Read once: `readonly` asks SQLite on every access.
      kept = { statement, readonly: statement.readonly };
      if (this.#oneRow.size < STATEMENT_CACHE_SIZE) this.#oneRow.set(text, kept);
    }
    if (kept.readonly) return kept.statement.get(params) as Row | undefined;
    return (kept.statement.all(params) as Row[])[0];
  }

  async rowArrays(text: string, params: readonly unknown[]): Promise<RowArrays> {
    if (this.#database.inTransaction) {
      const rows = await this.#queued(text, params);
      const columns = rows.length === 0 ? [] : Object.keys(rows[0]!);
      return { columns, rows: rows.map((r) => columns.map((c) => r[c])) };
    }
    const statement = this.#statement(text, this.#preparedRaw, true);
    const rows = statement.all(params) as unknown[][];
    // The names after the run: SQLite prepares a kept statement again when the schema
    // changed (a `SELECT *` then has other columns), and the names are those of the new one.
    const info = statement.columns();
    const columns = new Array<string>(info.length);
    for (let i = 0; i < info.length; i++) columns[i] = info[i]!.name;
    return { columns, rows };
  }

  /** Through kysely, behind the transaction that holds its connection. */
  async #queued(text: string, params: readonly unknown[]): Promise<Row[]> {
    return (await this.#db.executeQuery<Row>(CompiledQuery.raw(text, [...params]))).rows;
  }

  /**
   * The kept statement of `text` (in `prepared`: the statements returning objects, or
   * those returning arrays), prepared now if it is not kept (yet, or past the bound).
   */
  #statement(text: string, prepared = this.#prepared, raw = false): Statement {
    let statement = prepared.get(text);
    if (statement === undefined) {
      statement = this.#database.prepare(text);
      if (raw) statement.raw(true);
      if (prepared.size < STATEMENT_CACHE_SIZE) prepared.set(text, statement);
    }
    return statement;
  }
}
