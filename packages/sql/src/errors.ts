import {
  ConfigError,
  DuplicateError,
  PolystoreError,
  UnavailableError,
  WriteBelowPinError,
} from '@polystore/core';
import type { TableLayout } from './layout.js';

interface DriverError {
  readonly code?: unknown;
  readonly constraint?: unknown;
  readonly message?: unknown;
}

function fieldsOf(err: unknown): DriverError {
  return typeof err === 'object' && err !== null ? (err as DriverError) : {};
}

const PG_UNAVAILABLE = new Set([
  '57014', // query_canceled: statement_timeout
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '55P03', // lock_not_available: lock_timeout
]);

const NODE_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

const MESSAGE_UNAVAILABLE = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'is not queryable',
  'Cannot use a pool after calling end',
  'The database connection is not open',
  'driver has already been destroyed',
  'Query read timeout',
];

/**
 * PostgreSQL errors that retrying cannot cure: the role, password, database or schema in the
 * URL is wrong, or the role lacks a privilege. See
 * https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
const PG_CONFIG = new Set([
  '28000', // invalid_authorization_specification: unknown role, no pg_hba.conf entry
  '28P01', // invalid_password
  '3D000', // invalid_catalog_name: unknown database
  '3F000', // invalid_schema_name
  '42501', // insufficient_privilege
]);

/**
 * PostgreSQL errors that say the tables are not what the schema expects (a table or column
 * missing, a column of another type): changed by hand, or by another version of the code.
 */
const PG_SCHEMA_MISMATCH = new Set([
  '42P01', // undefined_table
  '42703', // undefined_column
  '42804', // datatype_mismatch
]);

/** better-sqlite3 codes at open that mean the path is wrong, not that the file is busy. */
const SQLITE_BAD_PATH = new Set(['SQLITE_CANTOPEN', 'SQLITE_NOTADB', 'SQLITE_PERM', 'SQLITE_AUTH']);

/** SQLite's messages for the same (its code is the generic SQLITE_ERROR). */
const SQLITE_SCHEMA_MISMATCH = /^(no such table|no such column|table \S+ has no column named)/;

/** Whether the error says the tables do not match the schema. */
export function isSchemaMismatch(err: unknown): boolean {
  const { code, message } = fieldsOf(err);
  if (typeof code !== 'string') return false;
  if (PG_SCHEMA_MISMATCH.has(code)) return true;
  return (
    code === 'SQLITE_ERROR' && typeof message === 'string' && SQLITE_SCHEMA_MISMATCH.test(message)
  );
}

/**
 * Whether `err` (or the driver error it wraps) is SQLite's refusal of a column the table
 * lacks (`no such column`): a statement naming a column of a newer or older definition.
 */
export function isMissingColumn(err: unknown): boolean {
  const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
  const { code, message } = fieldsOf(cause);
  return (
    code === 'SQLITE_ERROR' && typeof message === 'string' && message.startsWith('no such column')
  );
}

/** Whether the error means the configuration is wrong (credentials, database, privileges). */
export function isConfigProblem(err: unknown): boolean {
  const { code } = fieldsOf(err);
  return typeof code === 'string' && PG_CONFIG.has(code);
}

/** Whether a statement failed only because it lost a race: serialization failure or deadlock. */
export function isTransient(err: unknown): boolean {
  const { code } = fieldsOf(err);
  return code === '40001' || code === '40P01';
}

/** Whether the driver error says the unique index or primary key refused a row. */
export function isUniqueViolation(err: unknown): boolean {
  const { code } = fieldsOf(err);
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/** Whether the error means the backend is unreachable, shut down, locked or timed out. */
export function isUnavailable(err: unknown): boolean {
  const { code, message } = fieldsOf(err);
  if (typeof code === 'string') {
    if (PG_UNAVAILABLE.has(code) || code.startsWith('08') || NODE_UNAVAILABLE.has(code))
      return true;
    if (/^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|FULL|READONLY|PROTOCOL|NOMEM)/.test(code)) return true;
  }
  return typeof message === 'string' && MESSAGE_UNAVAILABLE.some((m) => message.includes(m));
}

/**
 * The head of the message the write-floor triggers raise (see `sql-write-floor.ts`):
 * `polystore_write_below_pin:<resource>:<floor>:<refused version>`. PostgreSQL raises it
 * with SQLSTATE `P0001` (raise_exception), SQLite with `RAISE(ABORT, …)`, which
 * better-sqlite3 reports as `SQLITE_CONSTRAINT_TRIGGER`.
 */
export const WRITE_BELOW_PIN = 'polystore_write_below_pin';

const WRITE_BELOW_PIN_MESSAGE = new RegExp(`^${WRITE_BELOW_PIN}:([^:]*):([^:]*):(.*)$`);

/** The `WriteBelowPinError` a write-floor trigger's refusal stands for, if `err` is one. */
export function writeBelowPinOf(err: unknown): WriteBelowPinError | undefined {
  const { code, message } = fieldsOf(err);
  if (code !== 'P0001' && code !== 'SQLITE_CONSTRAINT_TRIGGER') return undefined;
  if (typeof message !== 'string') return undefined;
  const m = WRITE_BELOW_PIN_MESSAGE.exec(message);
  return m ? new WriteBelowPinError(m[1]!, m[2]!, m[3]!) : undefined;
}

/** `display_name` -> `displayName`, the inverse of the layout's snake case. */
function camelCase(column: string): string {
  return column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The record fields of the unique constraint a driver error names (`['id']` for the primary key). */
function duplicateFields(err: unknown, layout: TableLayout): readonly string[] {
  const { code, constraint, message } = fieldsOf(err);
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return ['id'];
  if (typeof constraint === 'string') {
    if (constraint === layout.primaryKey) return ['id'];
    const index = layout.indexes.find((i) => i.name === constraint);
    if (index) return index.fields;
    // A unique index this definition does not know (a newer one's expand added it).
    const head = `${layout.table}__`;
    if (constraint.startsWith(head) && constraint.endsWith('__uq'))
      return constraint.slice(head.length, -'__uq'.length).split('__').map(camelCase);
  }
  // SQLite: "UNIQUE constraint failed: t.network_id, t.address".
  if (typeof message === 'string') {
    const cols = message
      .replace(/^.*constraint failed: /, '')
      .split(',')
      .map((s) => s.trim().split('.').pop());
    if (cols.length === 1 && cols[0] === 'id') return ['id'];
    const index = layout.indexes.find(
      (i) =>
        i.unique && i.columns.length === cols.length && i.columns.every((c, n) => c === cols[n]),
    );
    if (index) return index.fields;
    const named = cols.filter((c): c is string => c !== undefined && /^[a-z_]+$/.test(c));
    if (/constraint failed: /.test(message) && named.length === cols.length)
      return named.map(camelCase);
  }
  return ['id'];
}

/** What {@link toCoreError} knows about where an error came from. */
export interface ErrorContext {
  /** The table the statement wrote: a unique violation names its fields. */
  readonly layout?: TableLayout;
  /** The SQLite file being opened: a path that cannot hold a database is a `ConfigError`. */
  readonly openingFile?: string;
}

/**
 * The one error mapper of the SQL adapter: every error from kysely, pg or better-sqlite3
 * passes through it. A write the write floor refused (its trigger's error) is
 * `WriteBelowPinError`; a unique violation is `DuplicateError` naming the constraint's fields;
 * a wrong role, password, database or schema, a missing privilege, tables that do not
 * match the schema, or a SQLite file that cannot be opened as a database, is
 * `ConfigError`; connection loss, refusal, shutdown, lock and statement timeouts are
 * `UnavailableError`. Anything else is also `UnavailableError` (with the driver error as
 * `cause`), so no driver error escapes untyped.
 */
export function toCoreError(err: unknown, context: ErrorContext = {}): PolystoreError {
  if (err instanceof PolystoreError) return err;
  const belowPin = writeBelowPinOf(err);
  if (belowPin) return belowPin;
  const { layout, openingFile } = context;
  if (layout && isUniqueViolation(err))
    return new DuplicateError(layout.resource.name, duplicateFields(err, layout));
  const { code } = fieldsOf(err);
  const message = String(fieldsOf(err).message ?? err);
  if (openingFile !== undefined && typeof code === 'string' && SQLITE_BAD_PATH.has(code)) {
    return new ConfigError(`sqlite: cannot open ${openingFile} as a database: ${message}`, {
      cause: err,
    });
  }
  if (isConfigProblem(err))
    return new ConfigError(`sql backend refused the configuration: ${message}`, { cause: err });
  if (isSchemaMismatch(err))
    return new ConfigError(`sql backend's tables do not match the schema: ${message}`, {
      cause: err,
    });
  if (isUnavailable(err))
    return new UnavailableError(`sql backend unavailable: ${message}`, { cause: err });
  return new UnavailableError(`sql backend failed: ${message}`, { cause: err });
}

/** {@link withRetries} without a failed first attempt. */
const NOT_FAILED = Symbol('not failed');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn`, retrying it when it lost a serialization failure or deadlock (at most
 * `maxRetries` times, with jittered exponential backoff from 5 ms), and maps every error
 * with {@link toCoreError}. `failed`: the error of a first attempt the caller already made
 * itself (then `fn` is a retry, or the error is mapped and thrown).
 */
export async function withRetries<T>(
  fn: () => Promise<T>,
  maxRetries: number,
  layout?: TableLayout,
  failed: unknown = NOT_FAILED,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (attempt === 0 && failed !== NOT_FAILED) throw failed;
      return await fn();
    } catch (err) {
      if (attempt < maxRetries && isTransient(err)) {
        await sleep(5 * 2 ** attempt * (0.5 + Math.random()));
        continue;
      }
      throw toCoreError(err, { layout });
    }
  }
}

/**
 * Runs `fn`, failing with a retriable `UnavailableError` when it has not settled within
 * `ms` (the fail-fast bound; `undefined`: no bound, e.g. SQLite, which runs in the calling
 * thread and is bounded by its busy timeout). The abandoned work goes on in the background
 * and its outcome is ignored, so a write that timed out may still take effect: the error
 * says so.
 */
export function withDeadline<T>(
  ms: number | undefined,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (ms === undefined) {
    try {
      return fn();
    } catch (err) {
      return Promise.reject(err);
    }
  }
  // One promise settled by whichever comes first (a race of two promises in an async
  // function costs several more per call); the timer gets its arguments, not a closure.
  return new Promise<T>((resolve, reject) => {
    let run: Promise<T>;
    try {
      run = fn();
    } catch (err) {
      reject(err);
      return;
    }
    const timer = setTimeout(missedDeadline, ms, reject, ms, what);
    // Settles after the deadline too, then unobserved: handled here, never unhandled.
    run.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

function missedDeadline(reject: (err: unknown) => void, ms: number, what: string): void {
  reject(
    new UnavailableError(
      `sql backend unavailable: no answer within ${ms} ms (failFastMs) on ${what}; a write may or may not have taken effect`,
    ),
  );
}
