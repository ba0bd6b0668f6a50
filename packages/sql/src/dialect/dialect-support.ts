import type { Kysely } from 'kysely';
import type { ColumnKind } from '../layout.js';

/**
 * The kysely database type of a backend whose tables are derived at run time: any table,
 * any column. Queries are built from {@link TableLayout}s, so names are checked there.
 */
// biome-ignore lint/suspicious/noExplicitAny: table and column names are only known at run time.
export type AnyDatabase = any;

/** A kysely instance over derived tables. */
export type SqlDb = Kysely<AnyDatabase>;

/** Which SQL dialect a backend speaks. */
export type DialectName = 'postgres' | 'sqlite';

/** What differs between the dialects in how values are stored: column types and codecs. */
export interface DialectSupport {
  /** The dialect's name, also the backend name in reports. */
  readonly name: DialectName;
  /** The SQL type of a column holding values of `kind`. */
  columnType(kind: ColumnKind): string;
  /** A record value as the driver binds it (never `null`: callers handle it). */
  encode(kind: ColumnKind, value: unknown): unknown;
  /** A value the driver returned, as the record holds it (never `null`: callers handle it). */
  decode(kind: ColumnKind, raw: unknown): unknown;
  /**
   * {@link decode} of `kind` as one function, for a row decoder worked out once per table;
   * `undefined` where `decode` returns the value as it is.
   */
  decoder(kind: ColumnKind): ((raw: unknown) => unknown) | undefined;
}

/** Whether values of `kind` are stored as JSON. */
export function isJsonKind(kind: ColumnKind): boolean {
  return kind === 'list' || kind === 'dict' || kind === 'object';
}
