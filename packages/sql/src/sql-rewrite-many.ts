import type { StoredRecord } from '@polystore/core/adapter';
import { type RawBuilder, sql } from 'kysely';
import type { RowCodec } from './sql-resource-driver.js';

/** One record of a batched rewrite: the whole new record and the revision it must be at. */
export interface RecordRewrite {
  readonly record: StoredRecord;
  readonly expectedRevision: number;
}

/**
 * Bound parameters one statement may carry: under SQLite's default limit (32 766) and
 * PostgreSQL's protocol limit (65 535), with room for the statement's own.
 */
const MAX_PARAMETERS = 30_000;

/** How many rewrites of a table with `columns` columns fit in one statement. */
export function rewritesPerStatement(columns: number): number {
  return Math.max(1, Math.floor(MAX_PARAMETERS / (columns + 1)));
}

/**
 * The one statement that rewrites many records: a `VALUES` list of the new rows joined to
 * the table on `id` and the expected revision, `RETURNING` the ids it updated.
 *
 * ```sql
 * WITH v (id, expected_revision, c1, …) AS (VALUES ($1, $2, $3, …), …)
 * UPDATE t SET c1 = v.c1, …, revision = v.expected_revision + 1
 * FROM v WHERE t.id = v.id AND t.revision = v.expected_revision RETURNING t.id
 * ```
 *
 * On PostgreSQL every value is cast to its column's type (a `VALUES` list of untyped
 * parameters would be `text`). On SQLite the statement is `UPDATE OR IGNORE`: a row whose
 * new values clash with a unique index is skipped and the others are written, as separate
 * `rewrite`s would be; PostgreSQL has no such clause, so the caller splits the batch when
 * the statement fails with a clash.
 */
export function rewriteManyStatement(
  codec: RowCodec,
  dialect: 'postgres' | 'sqlite',
  schema: string | undefined,
  columnType: (column: RowCodec['layout']['columns'][number]) => string,
  rewrites: readonly RecordRewrite[],
): RawBuilder<{ id: string }> {
  const columns = codec.layout.columns.filter((c) => c.column !== 'id' && c.column !== 'revision');
  const cast = (value: unknown, type: string): RawBuilder<unknown> =>
    dialect === 'postgres' ? sql`CAST(${value} AS ${sql.raw(type)})` : sql`${value}`;
  const idColumn = codec.layout.column('id');
  const rows = rewrites.map(({ record, expectedRevision }) => {
    const values = [
      cast(codec.encode(idColumn, record.id), columnType(idColumn)),
      cast(expectedRevision, dialect === 'postgres' ? 'bigint' : ''),
      ...columns.map((c) => cast(codec.encode(c, record[c.field]), columnType(c))),
    ];
    return sql`(${sql.join(values)})`;
  });
  const names = sql.join([
    sql.id('id'),
    sql.id('expected_revision'),
    ...columns.map((c) => sql.id(c.column)),
  ]);
  const target =
    schema === undefined ? sql.table(codec.layout.table) : sql.id(schema, codec.layout.table);
  const t = sql.table(codec.layout.table);
  const set = sql.join([
    ...columns.map((c) => sql`${sql.id(c.column)} = v.${sql.id(c.column)}`),
    sql`revision = v.expected_revision + 1`,
  ]);
  const verb = dialect === 'sqlite' ? sql`UPDATE OR IGNORE` : sql`UPDATE`;
  // SQLite's RETURNING sees only the updated table, so a bare `id` is that table's.
  const returning = dialect === 'sqlite' ? sql`RETURNING id` : sql`RETURNING ${t}.id`;
  return sql<{ id: string }>`WITH v (${names}) AS (VALUES ${sql.join(rows)})
    ${verb} ${target} SET ${set}
    FROM v WHERE ${t}.id = v.id AND ${t}.revision = v.expected_revision
    ${returning}`;
}
