import { ConfigError, PolystoreError, UnavailableError } from '@polystore/core';
import type { MongoServerError } from 'mongodb';
import { loadedDriver } from './driver-loader.js';
import { command } from './fail-fast.js';

/** Server error codes of a broken unique index (E11000 and its legacy update form). */
export const DUPLICATE_CODES: ReadonlySet<number> = new Set([11000, 11001]);
/**
 * FerretDB v1.24 reports a unique index broken by an update (not an insert) as an
 * `InternalError` (code 1) carrying the SQL error text of its backend.
 */
const FERRET_DUPLICATE =
  /UNIQUE constraint failed|duplicate key value violates unique constraint|Duplicate entry/i;
/**
 * Failures of configuration, not outages: unauthorised (13), authentication failed (18,
 * 8000 on Atlas), a database or collection name the server refuses (73, InvalidNamespace),
 * an existing index with the same name or keys but other options (85, 86).
 */
const CONFIG_CODES: ReadonlySet<number> = new Set([13, 18, 73, 85, 86, 8000]);
/**
 * FerretDB v1 on PostgreSQL reports a PLAIN login its PostgreSQL refuses (unknown role,
 * wrong password) as an `InternalError` (code 1) carrying PostgreSQL's SQLSTATE 28xxx.
 */
const FERRET_AUTH = /SQLSTATE 28(?:000|P01)\b|password authentication failed/;

/**
 * The error as a server's refusal (a `MongoServerError`: the server answered and did not
 * run the command), else `undefined`. The driver is loaded lazily; before it is, no driver
 * error can exist.
 */
export function serverError(err: unknown): MongoServerError | undefined {
  const driver = loadedDriver();
  return driver !== undefined && err instanceof driver.MongoServerError ? err : undefined;
}

/** Whether a driver error says a unique index (the `_id` one included) refused a write. */
export function isDuplicateKeyError(err: unknown): boolean {
  const server = serverError(err);
  if (server === undefined) return false;
  if (typeof server.code === 'number' && DUPLICATE_CODES.has(server.code)) return true;
  return server.code === 1 && FERRET_DUPLICATE.test(server.message);
}

/**
 * The statements a bulk write's server refused, by their index in the batch (a
 * `MongoBulkWriteError`), else `undefined` (the command as a whole failed, or no bulk write).
 */
export function writeErrorsOf(
  err: unknown,
): readonly { readonly index: number; readonly code: number }[] | undefined {
  const driver = loadedDriver();
  if (driver === undefined || !(err instanceof driver.MongoBulkWriteError)) return undefined;
  const list = err.writeErrors;
  const errors = Array.isArray(list) ? list : [list];
  return errors.map((e) => ({ index: e.index, code: e.code }));
}

/** Where an error happened, for {@link toCoreError}. */
export interface ErrorContext {
  /** The operation, named in the message (e.g. `update instances`). Default `call`. */
  readonly operation?: string;
  /**
   * The step only reads configuration and does no I/O (building the client from the URL
   * and options), so whatever it throws is a `ConfigError`.
   */
  readonly configuring?: boolean;
}

/**
 * The one mapper of this adapter: turns any error of a driver call into a core error.
 * Core errors pass through; configuration failures (authentication, a bad URL option or
 * name, an index clash, a missing optional driver dependency) are `ConfigError`; everything
 * else (network errors, server selection and operation timeouts, a closed client,
 * unexpected server errors) is a retriable `UnavailableError`, so no driver error escapes
 * untyped.
 */
export function toCoreError(err: unknown, context: ErrorContext = {}): PolystoreError {
  if (err instanceof PolystoreError) return err;
  const operation = context.operation ?? 'call';
  const driver = loadedDriver();
  const server = serverError(err);
  const config =
    context.configuring === true ||
    (driver !== undefined &&
      (err instanceof driver.MongoParseError ||
        // An optional dependency of the driver the URL or options ask for (kerberos, ...).
        err instanceof driver.MongoMissingDependencyError ||
        // Thrown by the driver itself for a name it refuses, e.g. a database `a.b`; core
        // validates every value of a call, so only names from the URL or options get here.
        err instanceof driver.MongoInvalidArgumentError)) ||
    (server !== undefined &&
      ((typeof server.code === 'number' && CONFIG_CODES.has(server.code)) ||
        (server.code === 1 && FERRET_AUTH.test(server.message))));
  const message = err instanceof Error ? err.message : String(err);
  if (config) return new ConfigError(`mongo ${operation}: ${message}`, { cause: err });
  const name = err instanceof Error ? err.name : 'error';
  return new UnavailableError(`mongo ${operation}: ${name}: ${message}`, { cause: err });
}

/**
 * Runs one driver call (unless its store call has been given up, see `bounded`) and maps
 * its failure with {@link toCoreError}.
 */
export async function mapErrors<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await command(call);
  } catch (err) {
    throw toCoreError(err, { operation });
  }
}
