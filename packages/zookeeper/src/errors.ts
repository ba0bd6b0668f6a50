import { ConfigError, DuplicateError, PolystoreError, UnavailableError } from '@polystore/core';

/**
 * ZooKeeper's error codes (`KeeperException.Code`, the same numbers on the wire and in
 * node-zookeeper-client's `Exception`), spelled out here so that nothing but the client
 * needs the driver loaded.
 */
const CODES: Readonly<Record<string, number>> = Object.freeze({
  SYSTEM_ERROR: -1,
  RUNTIME_INCONSISTENCY: -2,
  DATA_INCONSISTENCY: -3,
  CONNECTION_LOSS: -4,
  MARSHALLING_ERROR: -5,
  UNIMPLEMENTED: -6,
  OPERATION_TIMEOUT: -7,
  BAD_ARGUMENTS: -8,
  API_ERROR: -100,
  NO_NODE: -101,
  NO_AUTH: -102,
  BAD_VERSION: -103,
  NO_CHILDREN_FOR_EPHEMERALS: -108,
  NODE_EXISTS: -110,
  NOT_EMPTY: -111,
  SESSION_EXPIRED: -112,
  INVALID_CALLBACK: -113,
  INVALID_ACL: -114,
  AUTH_FAILED: -115,
});

/** ZooKeeper error codes the adapter handles as outcomes rather than failures. */
export const ZK = Object.freeze({
  NO_NODE: CODES.NO_NODE!,
  NODE_EXISTS: CODES.NODE_EXISTS!,
  BAD_VERSION: CODES.BAD_VERSION!,
  NOT_EMPTY: CODES.NOT_EMPTY!,
});

const HANDLED: ReadonlySet<number> = new Set(Object.values(ZK));
const AUTH: ReadonlySet<number> = new Set([CODES.NO_AUTH!, CODES.AUTH_FAILED!, CODES.INVALID_ACL!]);

/**
 * A ZooKeeper operation refused by the server for a reason the adapter handles itself
 * (`NO_NODE`, `NODE_EXISTS`, `BAD_VERSION`, `NOT_EMPTY`). For a multi, `index` is the
 * position of the op that failed. It never leaves the package: drivers turn it into a
 * `WriteOutcome`, or {@link toCoreError} into a core error.
 */
export class ZkOpError extends Error {
  constructor(
    /** The ZooKeeper error code, e.g. `ZK.NODE_EXISTS`. */
    readonly code: number,
    /** The failed op of a multi, else `undefined`. */
    readonly index: number | undefined,
  ) {
    super(`zookeeper: ${codeName(code)}${index === undefined ? '' : ` at op ${index}`}`);
  }
}

function codeName(code: number): string {
  for (const [name, value] of Object.entries(CODES)) {
    if (value === code) return name;
  }
  return `code ${code}`;
}

/** The ZooKeeper code of a driver error (an `Exception`, or a multi's `{ code }`), if any. */
function errorCode(err: unknown): number | undefined {
  const e = err as { getCode?: unknown; code?: unknown } | null;
  if (typeof e?.getCode === 'function') return (e.getCode as () => number)();
  return typeof e?.code === 'number' ? e.code : undefined;
}

/**
 * The outcome a driver error stands for when its code is one the adapter handles itself
 * (see {@link ZK}): a {@link ZkOpError} with the failed op's `index`; `undefined` for
 * anything else, which is a failure for {@link toCoreError}.
 */
export function zkOpErrorOf(err: unknown, index?: number): ZkOpError | undefined {
  if (err instanceof ZkOpError) return err;
  const code = errorCode(err);
  return code !== undefined && HANDLED.has(code) ? new ZkOpError(code, index) : undefined;
}

/** What {@link toCoreError} knows about the failed call. */
export interface ErrorContext {
  /** What was being done, for the message (e.g. `getData /a/b`, `update instance`). */
  readonly what?: string;
  /** The resource a refused multi wrote (the `DuplicateError`'s resource). */
  readonly resource?: string;
  /**
   * For a refused multi: the fields of the unique constraint whose znode the op at
   * `index` creates (`['id']` for the record znode itself), or `undefined`.
   */
  readonly uniqueAt?: (index: number) => readonly string[] | undefined;
}

/**
 * The one error mapper of the adapter: whatever the driver (or the adapter's own
 * {@link ZkOpError}) reported becomes a core error. A core error passes unchanged; a
 * `NODE_EXISTS` on a unique znode (or the record's) of a multi is a `DuplicateError`
 * naming the constraint's fields; authentication failures are `ConfigError`; everything
 * else (connection loss, session expiry, timeouts, socket errors, unexpected codes, an
 * outcome no caller handled, meaning the znodes are not as the layout expects) is a
 * retriable `UnavailableError`, so no driver error escapes untyped.
 */
export function toCoreError(err: unknown, context: ErrorContext = {}): PolystoreError {
  if (err instanceof PolystoreError) return err;
  const what = context.what ? `${context.what}: ` : '';
  if (err instanceof ZkOpError) {
    if (err.code === ZK.NODE_EXISTS && err.index !== undefined) {
      const fields = context.uniqueAt?.(err.index);
      if (fields) return new DuplicateError(context.resource ?? 'record', fields);
    }
    const at = err.index === undefined ? '' : ` at op ${err.index}`;
    return new UnavailableError(`zookeeper: ${what}unexpected ${codeName(err.code)}${at}`, {
      cause: err,
    });
  }
  const code = errorCode(err);
  if (code !== undefined && AUTH.has(code)) {
    return new ConfigError(`zookeeper: ${what}${codeName(code)}`, { cause: err });
  }
  const why =
    code !== undefined ? codeName(code) : err instanceof Error ? err.message : String(err);
  return new UnavailableError(`zookeeper: ${what}${why}`, { cause: err });
}

/** The error of a call that got no answer within the per-call timeout. */
export function timeoutError(what: string, ms: number): UnavailableError {
  return new UnavailableError(`zookeeper: ${what}: no answer within ${ms} ms`);
}

/** The error of a call made while the client has no connection (calls fail fast, never queue). */
export function disconnectedError(what: string): UnavailableError {
  return new UnavailableError(`zookeeper: ${what}: not connected to the server`);
}
