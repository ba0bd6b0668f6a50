import { ConfigError, PolystoreError, UnavailableError, WriteBelowPinError } from '@polystore/core';

/**
 * Server replies that mean "not now": the server is loading, busy with a script, read-only
 * (a replica or failover), out of memory, unable to persist, or a cluster in transition.
 * Retrying later may succeed.
 */
const TRANSIENT_REPLIES = [
  'LOADING',
  'BUSY',
  'MASTERDOWN',
  'READONLY',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'OOM',
  'MISCONF',
  'NOREPLICAS',
  'MOVED',
  'ASK',
];

/** Server replies that mean the configuration is wrong: retrying will not help. */
const CONFIG_REPLIES = ['NOAUTH', 'WRONGPASS', 'NOPERM', 'WRONGTYPE'];

/** The reply to `SELECT` of a database number the server lacks (its `databases` setting is lower). */
const NO_SUCH_DATABASE = /DB index is out of range/i;

/**
 * The error reply of a write script refused below the write floor (prelude.lua
 * `below_floor`): `BELOWPIN <resource> <floor> <version>`.
 */
const BELOW_PIN = /^BELOWPIN (\S+) (\S+) (\S+)/;

/** The first word of an error reply, e.g. `NOSCRIPT` or `ERR`. */
function replyCode(err: Error): string {
  return err.message.split(' ', 1)[0] ?? '';
}

/** Whether an error is a Redis error reply (rather than a connection or client error). */
export function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

/**
 * Maps anything the Redis client throws onto a core error, in one place:
 *
 * - a core error passes through unchanged;
 * - `BELOWPIN` (a write script refused a write below the write floor of a live upgrade)
 *   is a `WriteBelowPinError` (retriable: a process of a release that knows the pin
 *   recovers at its next heartbeat);
 * - `NOAUTH`, `WRONGPASS`, `NOPERM` and `WRONGTYPE` (the namespace holds keys of another
 *   program) are a `ConfigError`, and so is a database number the server lacks (no retry
 *   will create it);
 * - every other error reply, a lost or refused connection, a command timeout, ioredis'
 *   `MaxRetriesPerRequestError` and "Stream isn't writeable" (offline queue off while
 *   disconnected) are an `UnavailableError` (retriable). `NOSCRIPT` never gets here:
 *   ioredis reloads the script with EVAL and retries once.
 *
 * The message names the operation; the driver error is kept as `cause`.
 */
export function toCoreError(err: unknown, operation = 'call'): PolystoreError {
  if (err instanceof PolystoreError) return err;
  const error = err instanceof Error ? err : new Error(String(err));
  if (isReplyError(error)) {
    const below = BELOW_PIN.exec(error.message);
    if (below) return new WriteBelowPinError(below[1]!, below[2]!, below[3]!);
    if (NO_SUCH_DATABASE.test(error.message)) {
      return new ConfigError(
        `redis ${operation}: the server has no such database (its \`databases\` setting is lower): ${error.message}`,
        { cause: error },
      );
    }
    const code = replyCode(error);
    if (CONFIG_REPLIES.includes(code)) {
      return new ConfigError(`redis ${operation}: ${error.message}`, { cause: error });
    }
    const kind = TRANSIENT_REPLIES.includes(code) ? 'server not ready' : 'server error';
    return new UnavailableError(`redis ${operation}: ${kind}: ${error.message}`, {
      cause: error,
    });
  }
  return new UnavailableError(`redis ${operation}: unavailable: ${error.message}`, {
    cause: error,
  });
}
