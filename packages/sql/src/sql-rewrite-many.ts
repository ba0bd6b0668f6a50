import type { StoredRecord } from '@polystore/core/adapter';
import { CompiledQuery } from 'kysely';
import type { DialectName } from './dialect/dialect-support.js';
import type { ColumnLayout } from './layout.js';
import type { RowCodec } from './sql-resource-driver.js';

/** One record of a batched rewrite: the whole new record and the revision it must be at. */
export interface RecordRewrite {
  readonly record: StoredRecord;
  readonly expectedRevision: number;
}

/** Rewrites one statement carries at most: its one parameter stays a few megabytes. */
const MAX_REWRITES = 2000;
/** PostgreSQL: statements of one batch in flight at once (the default pool has 10 connections). */
const POSTGRES_PARALLEL = 4;
/** PostgreSQL: fewer rewrites than this per statement are not worth another statement. */
const MIN_PARALLEL_REWRITES = 250;

/**
 * How a batch of `count` rewrites is split: rewrites per statement and statements in
 * flight at once. SQLite has one writer: one statement at a time, up to
 * {@link MAX_REWRITES} each. PostgreSQL spreads a large batch over up to
 * {@link POSTGRES_PARALLEL} statements of at least {@link MIN_PARALLEL_REWRITES}.
 */
export function statementPlan(
  dialect: DialectName,
  count: number,
): { readonly perStatement: number; readonly parallel: number } {
  if (dialect === 'sqlite') return { perStatement: MAX_REWRITES, parallel: 1 };
  const even = Math.ceil(count / POSTGRES_PARALLEL);
  return {
    perStatement: Math.min(MAX_REWRITES, Math.max(MIN_PARALLEL_REWRITES, even)),
    parallel: POSTGRES_PARALLEL,
  };
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * The one statement that rewrites many records: the new rows travel as one JSON array
 * parameter (one entry per record: id, expected revision, then every other column as the
 * driver binds it), unpacked by the database and joined to the table on `id` and the
 * expected revision, `RETURNING` the ids it updated. One parameter and a statement text
 * that depends only on the table keep parsing and planning as cheap at 2000 records as at
 * one (a `VALUES` list would carry a placeholder per value).
 *
 * PostgreSQL:
 * ```sql
 * UPDATE t SET c1 = CAST(v.c1 AS <type>), …, revision = v.expected_revision + 1
 * FROM json_to_recordset($1::json) AS v(id text, expected_revision bigint, c1 text, …)
 * WHERE t.id = v.id AND t.revision = v.expected_revision RETURNING t.id
 * ```
 * SQLite (`UPDATE OR IGNORE`: a row whose new values clash with a unique index is skipped
 * and the others are written, as separate `rewrite`s would be; PostgreSQL has no such
 * clause, so the caller splits the batch when the statement fails with a clash):
 * ```sql
 * WITH v AS (SELECT value ->> 0 AS id, value ->> 1 AS expected_revision, value ->> 2 AS c1, … FROM json_each(?))
 * UPDATE OR IGNORE t SET c1 = v.c1, …, revision = v.expected_revision + 1
 * FROM v WHERE t.id = v.id AND t.revision = v.expected_revision RETURNING id
 * ```
 */
export function rewriteManyStatement(
  codec: RowCodec,
  dialect: DialectName,
  schema: string | undefined,
  columnType: (column: ColumnLayout) => string,
  rewrites: readonly RecordRewrite[],
): CompiledQuery<{ id: string }> {
  const columns = codec.layout.columns.filter((c) => c.column !== 'id' && c.column !== 'revision');
  const idColumn = codec.layout.column('id');
  const rows = rewrites.map(({ record, expectedRevision }) => [
    codec.encode(idColumn, record.id),
    expectedRevision,
    ...columns.map((c) => codec.encode(c, record[c.field]) ?? null),
  ]);
  const table = quote(codec.layout.table);
  const target = schema === undefined ? table : `${quote(schema)}.${table}`;
  if (dialect === 'postgres') {
    const set = columns.map(
      (c) => `${quote(c.column)} = CAST(v.${quote(c.column)} AS ${columnType(c)})`,
    );
    const shape = columns.map((c) => `${quote(c.column)} text`);
    const keys = ['id', 'expected_revision', ...columns.map((c) => c.column)];
    return CompiledQuery.raw(
      `UPDATE ${target} SET ${set.join(', ')}, revision = v.expected_revision + 1
       FROM json_to_recordset($1::json) AS v(id text, expected_revision bigint, ${shape.join(', ')})
       WHERE ${table}.id = v.id AND ${table}.revision = v.expected_revision
       RETURNING ${table}.id`,
      [JSON.stringify(rows.map((r) => Object.fromEntries(r.map((x, i) => [keys[i], x]))))],
    ) as CompiledQuery<{ id: string }>;
  }
  const unpack = ['id', 'expected_revision', ...columns.map((c) => c.column)].map(
    (name, i) => `value ->> ${i} AS ${quote(name)}`,
  );
  const set = columns.map((c) => `${quote(c.column)} = v.${quote(c.column)}`);
  // SQLite's RETURNING sees only the updated table, so a bare `id` is that table's.
  return CompiledQuery.raw(
    `WITH v AS (SELECT ${unpack.join(', ')} FROM json_each(?))
     UPDATE OR IGNORE ${target} SET ${set.join(', ')}, revision = v.expected_revision + 1
     FROM v WHERE ${table}.id = v.id AND ${table}.revision = v.expected_revision
     RETURNING id`,
    [JSON.stringify(rows)],
  ) as CompiledQuery<{ id: string }>;
}
