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
  /** The kept statements of {@link row}, with whether each only reads. */
  readonly #oneRow = new Map<string, Kept>();
  /** The kept statements that return rows as arrays (see {@link rowArrays}). */
  readonly #arrays = new Map<string, Kept>();

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
    const kept = this.#kept(this.#oneRow, text, false);
    return first(kept, params) as Row | undefined;
  }

  rowNow(text: string, params: readonly unknown[]): Row | undefined | typeof NOT_NOW {
    if (this.#database.inTransaction) return NOT_NOW;
    const kept = this.#kept(this.#oneRow, text, false);
    return first(kept, params) as Row | undefined;
  }

  async rowArrays(text: string, params: readonly unknown[]): Promise<RowArrays> {
    if (this.#database.inTransaction) return asArrays(await this.#queued(text, params));
    const kept = this.#kept(this.#arrays, text, true);
    const rows = kept.statement.all(params) as unknown[][];
    return { columns: kept.columns ?? columnsOf(kept.statement), rows };
  }

  async rowArray(text: string, params: readonly unknown[]): Promise<RowArrays> {
    if (this.#database.inTransaction) return asArrays(await this.#queued(text, params));
    return this.#firstArray(text, params);
  }

  rowArrayNow(text: string, params: readonly unknown[]): RowArrays | typeof NOT_NOW {
    if (this.#database.inTransaction) return NOT_NOW;
    return this.#firstArray(text, params);
  }

  #firstArray(text: string, params: readonly unknown[]): RowArrays {
    const kept = this.#kept(this.#arrays, text, true);
    const row = first(kept, params) as unknown[] | undefined;
    return { columns: kept.columns ?? columnsOf(kept.statement), rows: row ? [row] : [] };
  }

  /** Through kysely, behind the transaction that holds its connection. */
  async #queued(text: string, params: readonly unknown[]): Promise<Row[]> {
    return (await this.#db.executeQuery<Row>(CompiledQuery.raw(text, [...params]))).rows;
  }

  /** The kept statement of `text` for {@link rows}, prepared now if it is not kept. */
  #statement(text: string): Statement {
    let statement = this.#prepared.get(text);
    if (statement === undefined) {
      statement = this.#database.prepare(text);
      if (this.#prepared.size < STATEMENT_CACHE_SIZE) this.#prepared.set(text, statement);
    }
    return statement;
  }

  /**
   * The kept statement of `text` in `kept` (returning arrays when `raw`), prepared now if
   * it is not kept (yet, or past the bound), with what is worth reading once.
   */
  #kept(kept: Map<string, Kept>, text: string, raw: boolean): Kept {
    let k = kept.get(text);
    if (k === undefined) {
      const statement = this.#database.prepare(text);
      if (raw) statement.raw(true);
      // `readonly` and `columns()` ask SQLite on every access (`columns()` builds an object
      // per column: some 12 µs for a table's row). A text that names its columns returns
      // those whatever the schema becomes; `*` returns the table's columns of the moment
      // (SQLite prepares a kept statement again when the schema changed), read after each
      // run.
      k = {
        statement,
        readonly: statement.readonly,
        columns: raw && !text.includes('*') ? columnsOf(statement) : undefined,
      };
      if (kept.size < STATEMENT_CACHE_SIZE) kept.set(text, k);
    }
    return k;
  }
}

/** A kept statement and what is read of it once. */
interface Kept {
  readonly statement: Statement;
  readonly readonly: boolean;
  /** Its result columns, where its text names them; `undefined`: read after each run. */
  readonly columns: readonly string[] | undefined;
}

/** The first row of a kept statement (see {@link SqliteRunner.row}: a write runs to its end). */
function first(kept: Kept, params: readonly unknown[]): unknown {
  if (kept.readonly) return kept.statement.get(params);
  return (kept.statement.all(params) as unknown[])[0];
}

/** The names of a statement's result columns, as they are now. */
function columnsOf(statement: Statement): string[] {
  const info = statement.columns();
  const columns = new Array<string>(info.length);
  for (let i = 0; i < info.length; i++) columns[i] = info[i]!.name;
  return columns;
}

/** Object rows as {@link RowArrays}. */
function asArrays(rows: readonly Row[]): RowArrays {
  const columns = rows.length === 0 ? [] : Object.keys(rows[0]!);
  return { columns, rows: rows.map((r) => columns.map((c) => r[c])) };
}
