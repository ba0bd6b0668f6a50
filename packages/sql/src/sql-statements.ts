import type {
  DeleteChange,
  ListQuery,
  Predicate,
  ReadScope,
  StoredRecord,
  UpdateChange,
  WriteScope,
} from '@polystore/core/adapter';
import type { DialectName } from './dialect/dialect-support.js';
import type { ColumnLayout } from './layout.js';
import type { RowCodec } from './sql-resource-driver.js';

/** One statement of a hot operation: its text (the same for every call of one shape) and its parameters. */
export interface Statement {
  /** The SQL text; values are never in it, so it names the shape and keys the statement caches. */
  readonly text: string;
  /** The values bound to its placeholders, in order, encoded for the driver. */
  readonly params: unknown[];
}

/** A SQL identifier in double quotes (both dialects), a quote inside doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Writes the placeholders of a text in order (`$n` on PostgreSQL, `?` on SQLite). */
class Placeholders {
  #count = 0;
  readonly #numbered: boolean;

  constructor(numbered: boolean) {
    this.#numbered = numbered;
  }

  /** The placeholder of the next parameter. */
  next(): string {
    this.#count++;
    return this.#numbered ? `$${this.#count}` : '?';
  }
}

/**
 * Writes the SQL of the hot operations of one table (insert, get, getMany, list, count,
 * update, delete and the read that explains a refused write) straight from its layout.
 * Values are always parameters and everything else is in the text, so a text stands for
 * one shape of a call (which scope conditions, which fields set or filtered, how many
 * values, which order, whether a cursor) and the drivers prepare each text once and keep
 * it (PostgreSQL: a named statement; SQLite: a prepared statement). Building the text is
 * a few string joins, where kysely's builder and compiler cost some 20 µs per call.
 *
 * A call does not build its text: it writes a short key of its shape (which scope
 * conditions, fields, operators, how many values) and its parameters, and the text of a
 * shape is built once and kept (the statement caches then find it by a string they have
 * hashed before). Each method has one writer of its parameters, used on every call, and
 * a builder of its text, which writes the placeholders in the order the writer binds the
 * values (the builder reads only the shape of the call, never a value).
 *
 * The table is qualified with the PostgreSQL schema in the text, so no statement depends
 * on `search_path` or kysely's `withSchema`. A `LIMIT` is written as a literal, so that a
 * plan PostgreSQL keeps for the statement is made for that limit.
 *
 * @example
 * ```ts
 * const { text, params } = statements.get(scope, id);
 * const rows = await runner.rows(text, params);
 * ```
 */
export class SqlStatements {
  readonly #codec: RowCodec;
  readonly #numbered: boolean;
  /** Whether a list of values is one array parameter (`= ANY($n)`), whatever its length. */
  readonly #arrays: boolean;
  readonly #table: string;
  readonly #quoted = new Map<ColumnLayout, string>();
  #insert: string;
  /** What a statement returns of each row: `*`, or the layout's columns (see the constructor). */
  #returned: string;
  readonly #columns: string;
  readonly #values: string;
  /** The text of each shape seen (at most {@link MAX_SHAPES}), by its key. */
  readonly #texts = new Map<string, string>();
  /** The last count's scope, filters and text: a count of the same shape writes no key. */
  #lastCount: LastCount | undefined;

  constructor(codec: RowCodec, dialect: DialectName, schema: string | undefined) {
    this.#codec = codec;
    this.#numbered = dialect === 'postgres';
    this.#arrays = dialect === 'postgres';
    const table = quoteIdent(codec.layout.table);
    this.#table = schema === undefined ? table : `${quoteIdent(schema)}.${table}`;
    for (const c of codec.layout.columns) this.#quoted.set(c, quoteIdent(c.column));
    const p = this.#placeholders();
    const names = codec.layout.columns.map((c) => this.#quoted.get(c));
    const values = codec.layout.columns.map(() => p.next());
    // SQLite: the layout's columns by name, so a kept statement's result columns are known
    // once (better-sqlite3 builds them again at every ask) and rows are read as arrays.
    // PostgreSQL: `*` (pg names the columns of every result anyway).
    this.#columns = names.join(', ');
    this.#values = values.join(', ');
    this.#returned = dialect === 'sqlite' ? this.#columns : '*';
    this.#insert = this.#insertText();
  }

  #insertText(): string {
    return `INSERT INTO ${this.#table} (${this.#columns}) VALUES (${this.#values}) RETURNING ${this.#returned}`;
  }

  /** Whether the statements name the layout's columns (SQLite) rather than return `*`. */
  get namesColumns(): boolean {
    return this.#returned !== '*';
  }

  /**
   * Returns `*` from now on (every text written again): for a table that lacks a column of
   * the layout, whose named statements SQLite refuses (`no such column`).
   */
  returnEveryColumn(): void {
    this.#returned = '*';
    this.#insert = this.#insertText();
    this.#texts.clear();
    this.#lastCount = undefined;
  }

  #placeholders(): Placeholders {
    return new Placeholders(this.#numbered);
  }

  #quote(field: string): string {
    return this.#quoted.get(this.#codec.layout.column(field))!;
  }

  /** The text of the shape `key`: kept, else built by `build` (and kept if there is room). */
  #text(key: string, build: () => string): string {
    let text = this.#texts.get(key);
    if (text === undefined) {
      text = build();
      if (this.#texts.size < MAX_SHAPES) this.#texts.set(key, text);
    }
    return text;
  }

  /** `INSERT … RETURNING ${this.#returned}` of every column of the layout. */
  insert(record: StoredRecord): Statement {
    const columns = this.#codec.layout.columns;
    const params = new Array<unknown>(columns.length);
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i]!;
      params[i] = this.#codec.encode(c, record[c.field]);
    }
    return { text: this.#insert, params };
  }

  /** The live-or-not record `id` in a read scope. */
  get(scope: ReadScope, id: string): Statement {
    const text = this.#text(`g${readKey(scope)}`, () => {
      const p = this.#placeholders();
      const conds = [`"id" = ${p.next()}`];
      this.#readScope(p, scope, conds);
      return this.#select(conds);
    });
    const params: unknown[] = [id];
    readParams(scope, params);
    return { text, params };
  }

  /** The records of `ids` (at least one) in a read scope. */
  getMany(scope: ReadScope, ids: readonly string[]): Statement {
    const key = `m${readKey(scope)}|${this.#arrays ? 'a' : ids.length}`;
    const text = this.#text(key, () => {
      const p = this.#placeholders();
      const conds = [this.#in(p, '"id"', ids.length)];
      this.#readScope(p, scope, conds);
      return this.#select(conds);
    });
    const params: unknown[] = [];
    this.#inParams(ids, params);
    readParams(scope, params);
    return { text, params };
  }

  /** One keyset page: the filters, the order (then `id`), after the cursor, at most `limit` rows. */
  list(scope: ReadScope, query: ListQuery): Statement {
    const { field, direction } = query.orderBy;
    const after = query.after;
    const literal = Number.isSafeInteger(query.limit);
    const key = `l${readKey(scope)}|${this.#predicatesKey(query.where)}|${field}|${direction}|${after === null ? 0 : 1}|${literal ? query.limit : 'p'}`;
    const text = this.#text(key, () => this.#listText(scope, query));
    const params: unknown[] = [];
    readParams(scope, params);
    for (const w of query.where) this.#predicateParams(w, params);
    if (after !== null) {
      if (field !== 'id')
        params.push(this.#codec.encode(this.#codec.layout.column(field), after.value));
      params.push(after.id);
    }
    if (!literal) params.push(query.limit);
    return { text, params };
  }

  #listText(scope: ReadScope, query: ListQuery): string {
    const p = this.#placeholders();
    const conds: string[] = [];
    this.#readScope(p, scope, conds);
    for (const w of query.where) conds.push(this.#predicate(p, w));
    const { field, direction } = query.orderBy;
    const quoted = this.#quote(field);
    if (query.after !== null) {
      const op = direction === 'asc' ? '>' : '<';
      if (field === 'id') conds.push(`"id" ${op} ${p.next()}`);
      else {
        const value = p.next();
        conds.push(`(${quoted}, "id") ${op} (${value}, ${p.next()})`);
      }
    }
    const order =
      field === 'id' ? `"id" ${direction}` : `${quoted} ${direction}, "id" ${direction}`;
    // An integer as a literal (core checks the limit); anything else stays a parameter.
    const limit = Number.isSafeInteger(query.limit) ? String(query.limit) : p.next();
    return `SELECT ${this.#returned} FROM ${this.#table}${where(conds)} ORDER BY ${order} LIMIT ${limit}`;
  }

  /** How many records match the filters in a read scope, as column `n`. */
  count(scope: ReadScope, filters: readonly Predicate[]): Statement {
    const scopeKey = readKey(scope);
    const last = this.#lastCount;
    let text: string;
    if (last !== undefined && last.readKey === scopeKey && sameShape(last.filters, filters)) {
      text = last.text;
    } else {
      text = this.#text(`c${scopeKey}|${this.#predicatesKey(filters)}`, () => {
        const p = this.#placeholders();
        const conds: string[] = [];
        this.#readScope(p, scope, conds);
        for (const w of filters) conds.push(this.#predicate(p, w));
        return `SELECT count(*) AS "n" FROM ${this.#table}${where(conds)}`;
      });
      this.#lastCount = { readKey: scopeKey, filters, text };
    }
    const params: unknown[] = [];
    readParams(scope, params);
    for (const w of filters) this.#predicateParams(w, params);
    return { text, params };
  }

  /** The conditional update of `id`, returning the row written. */
  update(scope: WriteScope, id: string, change: UpdateChange): Statement {
    const fields = Object.keys(change.set);
    const keeps = keepsVersion(change);
    let key = `u${scope.projectId === null ? 0 : 1}${keeps ? 'k' : ''}|${change.expectedRevision === undefined ? 0 : 1}|${this.#expectedKey(change.expected)}|`;
    for (let i = 0; i < fields.length; i++) key += `${fields[i]},`;
    const text = this.#text(key, () => this.#updateText(scope, fields, keeps, change));
    const params: unknown[] = [];
    const layout = this.#codec.layout;
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      params.push(this.#codec.encode(layout.column(field), change.set[field]));
    }
    params.push(change.updatedAt);
    if (!keeps) params.push(change.objectVersion);
    this.#writableParams(scope, id, change, params);
    return { text, params };
  }

  #updateText(
    scope: WriteScope,
    fields: readonly string[],
    keeps: boolean,
    change: UpdateChange,
  ): string {
    const p = this.#placeholders();
    // Column by column in the order given, a later assignment of a column replacing an
    // earlier one in its place (as an object's keys would).
    const set = new Map<string, string>();
    for (const field of fields) set.set(this.#quote(field), p.next());
    set.set('"revision"', '"revision" + 1');
    set.set('"updated_at"', p.next());
    if (!keeps) set.set('"object_version"', p.next());
    const assignments = [...set].map(([column, value]) => `${column} = ${value}`).join(', ');
    const conds = this.#writable(p, scope, change);
    return `UPDATE ${this.#table} SET ${assignments}${where(conds)} RETURNING ${this.#returned}`;
  }

  /** The conditional soft (an update of `deleted_at`) or hard delete of `id`, returning the row. */
  delete(scope: WriteScope, id: string, change: DeleteChange): Statement {
    const key = `d${change.soft ? 's' : 'h'}${scope.projectId === null ? 0 : 1}|${change.expectedRevision === undefined ? 0 : 1}|${this.#expectedKey(change.expected)}`;
    const text = this.#text(key, () => {
      const p = this.#placeholders();
      if (!change.soft) {
        const conds = this.#writable(p, scope, change);
        return `DELETE FROM ${this.#table}${where(conds)} RETURNING ${this.#returned}`;
      }
      const set = `"deleted_at" = ${p.next()}, "updated_at" = ${p.next()}, "revision" = "revision" + 1`;
      const conds = this.#writable(p, scope, change);
      return `UPDATE ${this.#table} SET ${set}${where(conds)} RETURNING ${this.#returned}`;
    });
    const params: unknown[] = change.soft ? [change.at, change.at] : [];
    this.#writableParams(scope, id, change, params);
    return { text, params };
  }

  /** The live record `id` in a write scope (why a conditional write matched no row). */
  current(scope: WriteScope, id: string): Statement {
    const text = this.#text(`r${scope.projectId === null ? 0 : 1}`, () => {
      const p = this.#placeholders();
      const conds = [`"id" = ${p.next()}`];
      this.#writeScope(p, scope, conds);
      return this.#select(conds);
    });
    return { text, params: scope.projectId === null ? [id] : [id, scope.projectId] };
  }

  /** The `id` of a row holding `id`, deleted or not. */
  idTaken(id: string): Statement {
    const p = this.#placeholders();
    return { text: `SELECT "id" FROM ${this.#table} WHERE "id" = ${p.next()}`, params: [id] };
  }

  /** The shape of a list of filters: per predicate its field, operator and values' shape. */
  #predicatesKey(filters: readonly Predicate[]): string {
    let key = '';
    for (let i = 0; i < filters.length; i++) {
      const w = filters[i]!;
      key += `${w.field}:${w.op}`;
      if (w.op === 'eq') key += w.value === null ? '0;' : '1;';
      else if (w.op === 'in') key += `${this.#oneOfKey(w.value as readonly unknown[])};`;
      else key += ';';
    }
    return key;
  }

  /** The shape of an `expected` condition: per field, its values' shape. */
  #expectedKey(expected: Readonly<Record<string, readonly unknown[]>> | undefined): string {
    if (expected === undefined) return '';
    let key = '';
    for (const field of Object.keys(expected))
      key += `${field}:${this.#oneOfKey(expected[field]!)};`;
    return key;
  }

  /**
   * The shape {@link #oneOf} writes for `values`: how many are not `null` (on PostgreSQL
   * only none, one or more: more are one array) and whether one is `null`.
   */
  #oneOfKey(values: readonly unknown[]): string {
    let present = 0;
    let hasNull = false;
    for (let i = 0; i < values.length; i++) {
      if (values[i] === null) hasNull = true;
      else present++;
    }
    if (this.#arrays && present > 2) present = 2;
    return hasNull ? `${present}n` : String(present);
  }

  /** The parameters of a predicate, as {@link #predicate} writes their placeholders. */
  #predicateParams(w: Predicate, out: unknown[]): void {
    if (w.op === 'in') this.#oneOfParams(w.field, w.value as readonly unknown[], out);
    else if (w.op !== 'eq' || w.value !== null)
      out.push(this.#codec.encode(this.#codec.layout.column(w.field), w.value));
  }

  /** The parameters of {@link #writable}: `id`, then as its conditions come. */
  #writableParams(
    scope: WriteScope,
    id: string,
    change: Pick<UpdateChange, 'expectedRevision'> & Pick<DeleteChange, 'expected'>,
    out: unknown[],
  ): void {
    out.push(id);
    if (scope.projectId !== null) out.push(scope.projectId);
    if (change.expectedRevision !== undefined) out.push(change.expectedRevision);
    const expected = change.expected;
    if (expected !== undefined)
      for (const field of Object.keys(expected)) this.#oneOfParams(field, expected[field]!, out);
  }

  /** The parameters of {@link #oneOf}: the values not `null`, encoded. */
  #oneOfParams(field: string, values: readonly unknown[], out: unknown[]): void {
    const column = this.#codec.layout.column(field);
    const present: unknown[] = [];
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v !== null) present.push(this.#codec.encode(column, v));
    }
    if (present.length === 1) out.push(present[0]);
    else if (present.length > 1) this.#inParams(present, out);
  }

  /** The parameters of {@link #in}: one array on PostgreSQL, one per value on SQLite. */
  #inParams(values: readonly unknown[], out: unknown[]): void {
    if (this.#arrays) out.push([...values]);
    else for (let i = 0; i < values.length; i++) out.push(values[i]);
  }

  #select(conds: readonly string[]): string {
    return `SELECT ${this.#returned} FROM ${this.#table}${where(conds)}`;
  }

  /** The conditions of a read scope (project, shared records, soft-deleted ones). */
  #readScope(p: Placeholders, scope: ReadScope, out: string[]): void {
    if (scope.projectId !== null) {
      const project = p.next();
      out.push(
        scope.includeShared
          ? `("project_id" = ${project} OR "project_id" IS NULL)`
          : `"project_id" = ${project}`,
      );
    }
    if (scope.deleted === 'no') out.push('"deleted_at" IS NULL');
    else if (scope.deleted === 'only') out.push('"deleted_at" IS NOT NULL');
  }

  /** The conditions of a write scope: live, and in the project unless unscoped. */
  #writeScope(p: Placeholders, scope: WriteScope, out: string[]): void {
    out.push('"deleted_at" IS NULL');
    if (scope.projectId !== null) out.push(`"project_id" = ${p.next()}`);
  }

  /**
   * The `WHERE` of a conditional write: the live record `id` in the scope, at
   * `expectedRevision` if given, with each `expected` field holding one of its values.
   */
  #writable(
    p: Placeholders,
    scope: WriteScope,
    change: Pick<UpdateChange, 'expectedRevision'> & Pick<DeleteChange, 'expected'>,
  ): string[] {
    const conds = [`"id" = ${p.next()}`];
    this.#writeScope(p, scope, conds);
    if (change.expectedRevision !== undefined) conds.push(`"revision" = ${p.next()}`);
    for (const [field, values] of Object.entries(change.expected ?? {})) {
      conds.push(this.#oneOf(p, field, values));
    }
    return conds;
  }

  /** A normalised predicate as a condition. */
  #predicate(p: Placeholders, w: Predicate): string {
    switch (w.op) {
      case 'eq':
        return this.#oneOf(p, w.field, [w.value]);
      case 'in':
        return this.#oneOf(p, w.field, w.value as readonly unknown[]);
      default: {
        const op = w.op === 'gt' ? '>' : w.op === 'gte' ? '>=' : w.op === 'lt' ? '<' : '<=';
        return `${this.#quote(w.field)} ${op} ${p.next()}`;
      }
    }
  }

  /** The field holds one of `values` (`null` matches NULL; none: no row). */
  #oneOf(p: Placeholders, field: string, values: readonly unknown[]): string {
    const quoted = this.#quote(field);
    let present = 0;
    for (let i = 0; i < values.length; i++) if (values[i] !== null) present++;
    const parts: string[] = [];
    if (present === 1) parts.push(`${quoted} = ${p.next()}`);
    else if (present > 1) parts.push(this.#in(p, quoted, present));
    if (values.includes(null)) parts.push(`${quoted} IS NULL`);
    if (parts.length === 0) return '1 = 0';
    return parts.length === 1 ? parts[0]! : `(${parts.join(' OR ')})`;
  }

  /**
   * `column` holds one of `count` values (none `null`). PostgreSQL binds them as one
   * array (`= ANY($n)`, which the planner treats as `IN`), so the text is the same for any
   * number of values and the server keeps one statement; SQLite has no arrays and gets a
   * placeholder per value.
   */
  #in(p: Placeholders, column: string, count: number): string {
    if (this.#arrays) return `${column} = ANY(${p.next()})`;
    const marks: string[] = [];
    for (let i = 0; i < count; i++) marks.push(p.next());
    return `${column} IN (${marks.join(', ')})`;
  }
}

/**
 * How many shapes' texts one table keeps. A table's calls come in few shapes; past the
 * bound a new shape's text is built at each call (and the runners do not keep it either).
 */
const MAX_SHAPES = 256;

/**
 * Whether an update's conditions hold `object_version` at the version it writes (core's
 * usual update: the record must be at the version it is written at). Then the statement
 * leaves the column out of its `SET`: the value could not change, and SQLite updates the
 * entries of every index over a column that is set, changed or not.
 */
function keepsVersion(change: UpdateChange): boolean {
  const v = change.expected?.objectVersion;
  return v !== undefined && v.length === 1 && v[0] === change.objectVersion;
}

/** The shape of a read scope's conditions, 0 to 8. */
/** A count's shape remembered by {@link SqlStatements.count}. */
interface LastCount {
  readonly readKey: number;
  readonly filters: readonly Predicate[];
  readonly text: string;
}

/**
 * Whether `b` writes the text `a` wrote, as `#predicatesKey` tells shapes apart: the same
 * fields and operators in order, each `eq` with or without `null`. Filters with `in` are
 * never taken as the same here (their shape counts values): their key is written.
 */
function sameShape(a: readonly Predicate[], b: readonly Predicate[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.field !== y.field || x.op !== y.op || x.op === 'in') return false;
    if (x.op === 'eq' && (x.value === null) !== (y.value === null)) return false;
  }
  return true;
}

function readKey(scope: ReadScope): number {
  const project = scope.projectId === null ? 0 : scope.includeShared ? 2 : 1;
  const deleted = scope.deleted === 'no' ? 0 : scope.deleted === 'only' ? 1 : 2;
  return project * 3 + deleted;
}

/** The parameters of a read scope's conditions: its project, if any. */
function readParams(scope: ReadScope, out: unknown[]): void {
  if (scope.projectId !== null) out.push(scope.projectId);
}

function where(conds: readonly string[]): string {
  return conds.length === 0 ? '' : ` WHERE ${conds.join(' AND ')}`;
}
