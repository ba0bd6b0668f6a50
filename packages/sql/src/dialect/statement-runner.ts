/** A row as the driver returns it, by column name. */
export type Row = Record<string, unknown>;

/** Rows as arrays of column values, in the order of `columns` (the result's column names). */
export interface RowArrays {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
}

/**
 * Runs the hot statements of one table: each text is prepared once and kept, and every
 * call binds its own parameters. One runner per resource driver, each with its own cache.
 */
export interface StatementRunner {
  /** The rows `text` returns with `params` bound (every hot statement returns rows). */
  rows(text: string, params: readonly unknown[]): Promise<Row[]>;
  /**
   * The first row `text` returns, for a statement of at most one row (one id, a count).
   * A write's changes are all made by then: SQLite makes every change of an `INSERT`,
   * `UPDATE` or `DELETE … RETURNING` at its first step.
   */
  row(text: string, params: readonly unknown[]): Promise<Row | undefined>;
  /**
   * {@link rows} as arrays of values, where the driver builds those for less than objects
   * (better-sqlite3 makes each column's name again for every row of an object, `pg` defines
   * each property of each row); absent where it does not.
   */
  rowArrays?(text: string, params: readonly unknown[]): Promise<RowArrays>;
  /**
   * {@link row} as an array of values (in {@link RowArrays}, no row or one), where the
   * driver builds that for less than an object even for one row (`pg`, whose object rows
   * copy an empty row and set each column by name; better-sqlite3, which names each
   * column of an object row again); absent where it does not.
   */
  rowArray?(text: string, params: readonly unknown[]): Promise<RowArrays>;
  /**
   * {@link row} answered at once, where the driver runs statements synchronously
   * (better-sqlite3): the row, `undefined` for none, or {@link NOT_NOW} when the call must
   * take the asynchronous way (a transaction holds the connection). Absent elsewhere.
   */
  rowNow?(text: string, params: readonly unknown[]): Row | undefined | typeof NOT_NOW;
  /** {@link rowArray} answered at once, as {@link rowNow}. Absent where that is absent. */
  rowArrayNow?(text: string, params: readonly unknown[]): RowArrays | typeof NOT_NOW;
}

/** What {@link StatementRunner.rowNow} returns when it cannot answer at once. */
export const NOT_NOW: unique symbol = Symbol('not now');

/**
 * How many texts a runner keeps prepared. A table's calls come in few shapes (scope,
 * filtered fields, order, fields set); past the bound a new shape runs without being kept
 * (PostgreSQL: unnamed; SQLite: prepared for the call), so neither this process nor the
 * server holds more than this many statements per table and connection.
 */
export const STATEMENT_CACHE_SIZE = 128;
