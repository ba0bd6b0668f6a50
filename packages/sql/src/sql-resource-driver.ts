import { DuplicateError } from '@polystore/core';
import type {
  DeleteChange,
  EvolutionDriver,
  ListQuery,
  Predicate,
  ReadScope,
  ResourceDriver,
  StoredRecord,
  UpdateChange,
  VersionPage,
  WriteOutcome,
  WriteScope,
} from '@polystore/core/adapter';
import { CompiledQuery, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import pMap from 'p-map';
import type { AnyDatabase, DialectSupport, SqlDb } from './dialect/dialect-support.js';
import { NOT_NOW, type RowArrays, type StatementRunner } from './dialect/statement-runner.js';
import { isMissingColumn, withDeadline, withRetries } from './errors.js';
import type { ColumnLayout, TableLayout } from './layout.js';
import { type ColumnRead, compileRowReader, type RowReader } from './row-reader.js';
import { type RecordRewrite, rewriteManyStatement, statementPlan } from './sql-rewrite-many.js';
import { SqlStatements, type Statement } from './sql-statements.js';

type Eb = ExpressionBuilder<AnyDatabase, string>;
type Cond = Expression<SqlBool>;
type Row = Record<string, unknown>;

/** Whether two lists of column names are the same, in the same order. */
function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** What a driver shares with the other drivers and the allocator of one backend. */
export interface SqlDriverContext {
  /** The kysely instance, already bound to the PostgreSQL schema. */
  readonly db: SqlDb;
  readonly support: DialectSupport;
  /** PostgreSQL: the schema of the tables, for raw SQL (`undefined` on SQLite). */
  readonly schema: string | undefined;
  /** Retries of a statement that lost a serialization failure or deadlock. */
  readonly maxRetries: number;
  /** The bound of every call in ms (PostgreSQL `failFastMs`; `undefined` on SQLite). */
  readonly failFastMs: number | undefined;
  /** A runner of prepared hot statements for one driver (each driver keeps its own). */
  readonly runner: () => StatementRunner;
}

/**
 * Internal, not part of any public API: what the address allocator reaches of the drivers
 * of `network` and `fixedIp` — the backend's shared context and the two tables' codecs —
 * to read the network and insert or release fixed IPs in its own atomic statements.
 */
export interface AllocationTables {
  readonly ctx: SqlDriverContext;
  readonly networks: RowCodec;
  readonly fixedIps: RowCodec;
}

/**
 * Converts between records and rows of one table, and builds the kysely conditions of
 * read and write scopes (for the address allocator's statements; the driver's hot
 * statements write theirs in {@link SqlStatements}). Used by the resource driver and the
 * address allocator.
 */
export class RowCodec {
  readonly layout: TableLayout;
  readonly #support: DialectSupport;

  /** How {@link fromRow} reads each column, worked out once. */
  readonly #plan: readonly ColumnRead[];
  /** {@link fromArrays}' reading of one row, compiled from the plan where it can be. */
  readonly #readRow: RowReader | undefined;

  constructor(layout: TableLayout, support: DialectSupport) {
    this.layout = layout;
    this.#support = support;
    this.#plan = layout.columns.map((c) => ({
      column: c.column,
      field: c.field,
      keepNull: c.nullable || c.system,
      decode: support.decoder(c.kind),
    }));
    this.#readRow = compileRowReader(this.#plan);
  }

  /** A record value as the driver binds it. */
  encode(column: ColumnLayout, value: unknown): unknown {
    return value === null || value === undefined ? null : this.#support.encode(column.kind, value);
  }

  /** A value the driver returned as the record holds it. */
  decode(column: ColumnLayout, raw: unknown): unknown {
    return raw === null || raw === undefined ? null : this.#support.decode(column.kind, raw);
  }

  /** A record as a row to insert. */
  toRow(record: StoredRecord): Row {
    const row: Row = {};
    for (const c of this.layout.columns) row[c.column] = this.encode(c, record[c.field]);
    return row;
  }

  /** A row read back as a record; a field column added after the row was written is left out. */
  fromRow(row: Row): StoredRecord {
    const out: Record<string, unknown> = {};
    const plan = this.#plan;
    for (let i = 0; i < plan.length; i++) {
      const { column, field, keepNull, decode } = plan[i]!;
      const raw = row[column];
      if (raw === null || raw === undefined) {
        if (keepNull) out[field] = null;
      } else {
        out[field] = decode === undefined ? raw : decode(raw);
      }
    }
    return out as StoredRecord;
  }

  /** The columns of the last {@link fromArrays} result, and where each column of the plan is in it. */
  #arrayColumns: readonly string[] | undefined;
  #arrayIndex: readonly number[] = [];

  /**
   * Rows as arrays read back as records, as {@link fromRow} reads them: a column the
   * result lacks (added after the statement's rows were written) is left out or `null`.
   */
  fromArrays(result: RowArrays): StoredRecord[] {
    const { columns, rows } = result;
    if (this.#arrayColumns === undefined || !sameNames(columns, this.#arrayColumns)) {
      this.#arrayIndex = this.#plan.map((c) => columns.indexOf(c.column));
      this.#arrayColumns = columns;
    }
    const index = this.#arrayIndex;
    const plan = this.#plan;
    const out = new Array<StoredRecord>(rows.length);
    const read = this.#readRow;
    if (read !== undefined) {
      for (let r = 0; r < rows.length; r++) out[r] = read(rows[r]!, index) as StoredRecord;
      return out;
    }
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      const record: Record<string, unknown> = {};
      for (let i = 0; i < plan.length; i++) {
        const { field, keepNull, decode } = plan[i]!;
        const at = index[i]!;
        const raw = at < 0 ? undefined : row[at];
        if (raw === null || raw === undefined) {
          if (keepNull) record[field] = null;
        } else {
          record[field] = decode === undefined ? raw : decode(raw);
        }
      }
      out[r] = record as StoredRecord;
    }
    return out;
  }

  /** The conditions of a read scope (project, shared records, soft-deleted ones). */
  readScope(eb: Eb, scope: ReadScope): Cond[] {
    const out: Cond[] = [];
    if (scope.projectId !== null) {
      out.push(
        scope.includeShared
          ? eb.or([eb('project_id', '=', scope.projectId), eb('project_id', 'is', null)])
          : eb('project_id', '=', scope.projectId),
      );
    }
    if (scope.deleted === 'no') out.push(eb('deleted_at', 'is', null));
    else if (scope.deleted === 'only') out.push(eb('deleted_at', 'is not', null));
    return out;
  }

  /** The conditions of a write scope: live, and in the project unless unscoped. */
  writeScope(eb: Eb, scope: WriteScope): Cond[] {
    const out: Cond[] = [eb('deleted_at', 'is', null)];
    if (scope.projectId !== null) out.push(eb('project_id', '=', scope.projectId));
    return out;
  }
}

/**
 * The generic driver of one resource over SQL: every operation is one statement (a
 * second query only explains a refused conditional write). Works for any resource the
 * layout was derived from. The hot operations (insert, get, getMany, list, count, update,
 * delete) run {@link SqlStatements}' texts through the backend's prepared-statement runner;
 * the evolution operations and `purge` are built with kysely, as DDL is.
 *
 * The evolution operations (`countByVersion`, `scanVersion`, `rewrite`, `rewriteMany`) ignore scopes.
 * Indexes and unique indexes are the database's own, so every write keeps every index
 * that exists now up to date, whichever definition added it: `rewrite` has no entries of
 * its own to repair, and a unique index added by a newer definition's `expand` is
 * enforced on this driver's writes too.
 */
export class SqlResourceDriver implements ResourceDriver, EvolutionDriver {
  readonly #ctx: SqlDriverContext;
  readonly #codec: RowCodec;
  readonly #table: string;
  readonly #statements: SqlStatements;
  readonly #runner: StatementRunner;

  constructor(ctx: SqlDriverContext, layout: TableLayout) {
    this.#ctx = ctx;
    this.#codec = new RowCodec(layout, ctx.support);
    this.#table = layout.table;
    this.#statements = new SqlStatements(this.#codec, ctx.support.name, ctx.schema);
    this.#runner = ctx.runner();
  }

  #run<T>(fn: () => Promise<T>): Promise<T> {
    return withDeadline(this.#ctx.failFastMs, this.#table, () =>
      withRetries(fn, this.#ctx.maxRetries, this.#codec.layout),
    );
  }

  /**
   * Runs a hot statement's call: the first attempt bare, only a failure going the way of
   * every statement (retries, error mapping), within the deadline where there is one. The
   * same as {@link #run}, with fewer promises and closures per call: no `withRetries`
   * frame around a first attempt that succeeds, and no wrapper at all without a deadline
   * (SQLite).
   */
  #attempt<T>(call: () => Promise<T>): Promise<T> {
    const ms = this.#ctx.failFastMs;
    if (ms === undefined) return this.#bare(call);
    return withDeadline(ms, this.#table, () =>
      call().catch((err: unknown) => this.#retried(call, err)),
    );
  }

  async #bare<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      return this.#retried(call, err);
    }
  }

  /** A hot statement's call after its first attempt failed with `err`. */
  #retried<T>(call: () => Promise<T>, err: unknown): Promise<T> {
    return withRetries(call, this.#ctx.maxRetries, this.#codec.layout, err);
  }

  /**
   * The records of a hot statement of many rows: as arrays where the runner returns them
   * for less (both dialects' runners do), else as objects.
   */
  async #recordsOf({ text, params }: Statement): Promise<StoredRecord[]> {
    const runner = this.#runner;
    if (runner.rowArrays === undefined) {
      const rows = await this.#attempt(() => runner.rows(text, params));
      return rows.map((r) => this.#codec.fromRow(r));
    }
    return this.#codec.fromArrays(await this.#attempt(() => runner.rowArrays!(text, params)));
  }

  /** The one row (or none) of a hot statement of at most one row. */
  #row({ text, params }: Statement): Promise<Row | undefined> {
    const now = this.#rowNow(text, params);
    if (now !== NOT_NOW) return now;
    return this.#attempt(() => this.#runner.row(text, params));
  }

  /**
   * The row of `text` where the runner answers at once and no deadline applies (SQLite):
   * settled with no promise of the runner's or the retries' own; {@link NOT_NOW} else.
   */
  #rowNow(text: string, params: readonly unknown[]): Promise<Row | undefined> | typeof NOT_NOW {
    const { rowNow } = this.#runner;
    return rowNow === undefined
      ? NOT_NOW
      : this.#now(
          () => rowNow.call(this.#runner, text, params),
          () => this.#runner.row(text, params),
        );
  }

  /**
   * `now()` where the runner answers at once and no deadline applies (SQLite), settled
   * with no promise of the runner's or the retries' own; a failure goes the way of every
   * statement, `later` being the call tried again. {@link NOT_NOW} where `now` says so.
   */
  #now<T>(now: () => T | typeof NOT_NOW, later: () => Promise<T>): Promise<T> | typeof NOT_NOW {
    if (this.#ctx.failFastMs !== undefined) return NOT_NOW;
    try {
      const value = now();
      return value === NOT_NOW ? NOT_NOW : Promise.resolve(value);
    } catch (err) {
      return this.#retried(later, err);
    }
  }

  /**
   * `read` of the statement `build` writes. On SQLite the statements name the layout's
   * columns: where the table lacks one (a store not yet expanded to this definition, or
   * contracted past it), the driver returns to `*` for good and runs the statement again,
   * reading what the table has.
   */
  async #named<T>(build: () => Statement, read: (statement: Statement) => Promise<T>): Promise<T> {
    try {
      return await read(build());
    } catch (err) {
      if (!this.#statements.namesColumns || !isMissingColumn(err)) throw err;
      this.#statements.returnEveryColumn();
      return read(build());
    }
  }

  /** The records of the statement `build` writes (see {@link #named}, {@link #recordsOf}). */
  #records(build: () => Statement): Promise<StoredRecord[]> {
    return this.#named(build, (statement) => this.#recordsOf(statement));
  }

  /** The record (or none) of the statement `build` writes (see {@link #named}, {@link #oneOf}). */
  #one(build: () => Statement): Promise<StoredRecord | undefined> {
    return this.#named(build, (statement) => this.#oneOf(statement));
  }

  /** The record (or none) of a hot statement of at most one row: as an array where cheaper. */
  async #oneOf(statement: Statement): Promise<StoredRecord | undefined> {
    const runner = this.#runner;
    if (runner.rowArray === undefined) {
      const row = await this.#row(statement);
      return row === undefined ? undefined : this.#codec.fromRow(row);
    }
    const { text, params } = statement;
    const later = () => runner.rowArray!(text, params);
    const { rowArrayNow } = runner;
    const now =
      rowArrayNow === undefined
        ? NOT_NOW
        : this.#now(() => rowArrayNow.call(runner, text, params), later);
    return this.#codec.fromArrays(await (now === NOT_NOW ? this.#attempt(later) : now))[0];
  }

  async insert(record: StoredRecord): Promise<StoredRecord> {
    try {
      return (await this.#one(() => this.#statements.insert(record)))!;
    } catch (err) {
      // When the id and another unique field are both taken, the database names whichever
      // index it checked first (SQLite and PostgreSQL: the other one); the contract reports
      // the id first.
      if (
        err instanceof DuplicateError &&
        !(err.fields.length === 1 && err.fields[0] === 'id') &&
        (await this.#idTaken(record.id))
      )
        throw new DuplicateError(err.resource, ['id']);
      throw err;
    }
  }

  /** Whether a row (deleted ones included) holds `id`. */
  async #idTaken(id: string): Promise<boolean> {
    return (await this.#row(this.#statements.idTaken(id))) !== undefined;
  }

  async get(scope: ReadScope, id: string): Promise<StoredRecord | undefined> {
    return this.#one(() => this.#statements.get(scope, id));
  }

  async getMany(scope: ReadScope, ids: readonly string[]): Promise<StoredRecord[]> {
    if (ids.length === 0) return [];
    return this.#records(() => this.#statements.getMany(scope, ids));
  }

  /** The SQL `list` runs for a query (for plans and tests). */
  compileList(scope: ReadScope, query: ListQuery): CompiledQuery {
    const { text, params } = this.#statements.list(scope, query);
    return CompiledQuery.raw(text, params);
  }

  async list(scope: ReadScope, query: ListQuery): Promise<StoredRecord[]> {
    return this.#records(() => this.#statements.list(scope, query));
  }

  count(scope: ReadScope, where: readonly Predicate[]): Promise<number> {
    const { text, params } = this.#statements.count(scope, where);
    const runner = this.#runner;
    // SQLite: the count at once, in one settled promise (no frame of the driver's own).
    if (runner.rowNow !== undefined && this.#ctx.failFastMs === undefined) {
      let row: Row | undefined | typeof NOT_NOW;
      try {
        row = runner.rowNow(text, params);
      } catch (err) {
        return this.#retried(() => runner.row(text, params), err).then(countOf);
      }
      if (row !== NOT_NOW) return Promise.resolve(countOf(row));
    }
    return this.#attempt(() => runner.row(text, params)).then(countOf);
  }

  async update(scope: WriteScope, id: string, change: UpdateChange): Promise<WriteOutcome> {
    const record = await this.#one(() => this.#statements.update(scope, id, change));
    return record === undefined ? this.#refused(scope, id) : { status: 'ok', record };
  }

  async delete(scope: WriteScope, id: string, change: DeleteChange): Promise<WriteOutcome> {
    // The conditions are part of the statement: a record at another revision or holding
    // another value of an `expected` field (core: another objectVersion) is left untouched.
    const record = await this.#one(() => this.#statements.delete(scope, id, change));
    return record === undefined ? this.#refused(scope, id) : { status: 'ok', record };
  }

  /** Why a conditional write matched no row: the record is not writable, or a condition failed. */
  async #refused(scope: WriteScope, id: string): Promise<WriteOutcome> {
    const current = await this.#one(() => this.#statements.current(scope, id));
    return current === undefined ? { status: 'not-found' } : { status: 'conflict', current };
  }

  /** One `GROUP BY object_version` over the `object_version` index. */
  async countByVersion(): Promise<Record<string, number>> {
    const rows = await this.#run(() =>
      this.#ctx.db
        .selectFrom(this.#table)
        .select(['object_version', (eb) => eb.fn.countAll().as('n')])
        .groupBy('object_version')
        .execute(),
    );
    const counts: Record<string, number> = {};
    for (const r of rows) counts[String(r.object_version)] = Number(r.n);
    return counts;
  }

  async scanVersion(
    version: string,
    after: string | undefined,
    limit: number,
  ): Promise<VersionPage> {
    if (limit <= 0) return { records: [], after: undefined };
    const rows = await this.#run(() =>
      this.#ctx.db
        .selectFrom(this.#table)
        .selectAll()
        .where((eb) =>
          eb.and([
            eb('object_version', '=', version),
            ...(after === undefined ? [] : [eb('id', '>', after)]),
          ]),
        )
        // Text columns compare by code point (PostgreSQL: COLLATE "C"; SQLite: BINARY).
        .orderBy('id', 'asc')
        .limit(limit)
        .execute(),
    );
    const records = rows.map((r) => this.#codec.fromRow(r));
    return { records, after: records.length === limit ? records.at(-1)!.id : undefined };
  }

  /**
   * One `UPDATE ... WHERE id = ? AND revision = ?` writing every column of this driver's
   * layout from `record` (a field the record lacks is stored as `NULL`; a column only a
   * newer definition knows keeps its value).
   */
  async rewrite(record: StoredRecord, expectedRevision: number): Promise<WriteOutcome> {
    const set = this.#codec.toRow(record);
    delete set.id;
    set.revision = expectedRevision + 1;
    const row = await this.#run(() =>
      this.#ctx.db
        .updateTable(this.#table)
        .set(set)
        .where((eb) => eb.and([eb('id', '=', record.id), eb('revision', '=', expectedRevision)]))
        .returningAll()
        .executeTakeFirst(),
    );
    if (row !== undefined) return { status: 'ok', record: this.#codec.fromRow(row) };
    const current = await this.#run(() =>
      this.#ctx.db
        .selectFrom(this.#table)
        .selectAll()
        .where('id', '=', record.id)
        .executeTakeFirst(),
    );
    return current === undefined
      ? { status: 'not-found' }
      : { status: 'conflict', current: this.#codec.fromRow(current) };
  }

  /**
   * {@link rewrite} of many records in one `UPDATE … FROM` a JSON array per statement
   * (see {@link rewriteManyStatement}); the ids of the records rewritten. A record at
   * another revision, gone, or whose new values clash with a unique index is left as it is
   * (SQLite skips a clashing row; on PostgreSQL a clash fails the statement, which is split
   * in halves until the clashing records stand alone). An id given twice is rewritten at
   * most once.
   *
   * SQLite runs the statements one after the other (one writer). PostgreSQL runs a large
   * batch as up to {@link statementPlan}'s parallel statements on connections of the pool:
   * a rewrite's cost is index maintenance in the server (every index of the table gets a
   * new entry per row), which one statement does on one core. Two records of different
   * statements that want the same unique value: whichever statement gets there first
   * rewrites its record, the other is left as it is.
   *
   * @example
   * ```ts
   * const done = new Set(await driver.rewriteMany(page.map((r) => ({ record: upgraded(r), expectedRevision: r.revision }))));
   * for (const r of page) if (!done.has(r.id)) await driver.rewrite(upgraded(r), r.revision);
   * ```
   */
  async rewriteMany(rewrites: readonly RecordRewrite[]): Promise<readonly string[]> {
    const seen = new Set<string>();
    const unique = rewrites.filter(({ record }) => !seen.has(record.id) && seen.add(record.id));
    const { perStatement, parallel } = statementPlan(this.#ctx.support.name, unique.length);
    const chunks: RecordRewrite[][] = [];
    for (let i = 0; i < unique.length; i += perStatement) {
      chunks.push(unique.slice(i, i + perStatement));
    }
    const done = await pMap(chunks, (chunk) => this.#rewriteChunk(chunk), {
      concurrency: parallel,
    });
    return done.flat();
  }

  /** One statement's worth of {@link rewriteMany}; on PostgreSQL, split around a unique clash. */
  async #rewriteChunk(rewrites: readonly RecordRewrite[]): Promise<string[]> {
    if (rewrites.length === 0) return [];
    const { support, schema, db } = this.#ctx;
    const statement = rewriteManyStatement(
      this.#codec,
      support.name,
      schema,
      (c) => support.columnType(c.kind).replace(' COLLATE "C"', ''),
      rewrites,
    );
    try {
      const { rows } = await this.#run(() => db.executeQuery(statement));
      return rows.map((r) => String(r.id));
    } catch (err) {
      if (!(err instanceof DuplicateError) || rewrites.length === 1) {
        if (err instanceof DuplicateError) return [];
        throw err;
      }
      const half = rewrites.length >> 1;
      return [
        ...(await this.#rewriteChunk(rewrites.slice(0, half))),
        ...(await this.#rewriteChunk(rewrites.slice(half))),
      ];
    }
  }

  async purge(before: string): Promise<number> {
    const result = await this.#run(() =>
      this.#ctx.db
        .deleteFrom(this.#table)
        .where((eb) => eb.and([eb('deleted_at', 'is not', null), eb('deleted_at', '<', before)]))
        .executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }
}

/** The number a count statement's row holds (`n`: a number on SQLite, bigint text on PostgreSQL). */
function countOf(row: Row | undefined): number {
  return Number(row!.n);
}
