import { ConfigError, PolystoreError, UnavailableError } from '@polystore/core';
import zookeeper from 'node-zookeeper-client';

const { Exception } = zookeeper;

/**
 * A ZooKeeper operation refused by the server for a reason the adapter handles itself
 * (`NO_NODE`, `NODE_EXISTS`, `BAD_VERSION`, `NOT_EMPTY`). For a multi, `index` is the
 * position of the op that failed. It never leaves the package: drivers turn it into a
 * `WriteOutcome` or a core error.
 */
export class ZkOpError extends Error {
  constructor(
    /** The ZooKeeper error code, e.g. `Exception.NODE_EXISTS`. */
    readonly code: number,
    /** The failed op of a multi, else `undefined`. */
    readonly index: number | undefined,
  ) {
    super(`zookeeper: ${codeName(code)}${index === undefined ? '' : ` at op ${index}`}`);
  }
}

/** ZooKeeper error codes the adapter handles as outcomes rather than failures. */
export const ZK = Object.freeze({
  NO_NODE: Exception.NO_NODE,
  NODE_EXISTS: Exception.NODE_EXISTS,
  BAD_VERSION: Exception.BAD_VERSION,
  NOT_EMPTY: Exception.NOT_EMPTY,
});

const HANDLED: ReadonlySet<number> = new Set(Object.values(ZK));

function codeName(code: number): string {
  for (const [name, value] of Object.entries(Exception)) {
    if (value === code) return name;
  }
  return `code ${code}`;
}

function errorCode(err: unknown): number | undefined {
  if (err instanceof Exception) return err.getCode();
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Maps whatever the driver reported for `what` to a core error: handled op codes to
 * {@link ZkOpError}, authentication failures to `ConfigError`, and everything else
 * (connection loss, session expiry, timeouts, socket errors, unexpected codes) to
 * `UnavailableError`, so no driver error escapes untyped.
 */
export function mapZooKeeperError(err: unknown, what: string, index?: number): Error {
  if (err instanceof PolystoreError || err instanceof ZkOpError) return err;
  const code = errorCode(err);
  if (code !== undefined && HANDLED.has(code)) return new ZkOpError(code, index);
  if (
    code === Exception.NO_AUTH ||
    code === Exception.AUTH_FAILED ||
    code === Exception.INVALID_ACL
  ) {
    return new ConfigError(`zookeeper: ${what}: ${codeName(code)}`, { cause: err });
  }
  const why =
    code !== undefined ? codeName(code) : err instanceof Error ? err.message : String(err);
  return new UnavailableError(`zookeeper: ${what}: ${why}`, { cause: err });
}

/** The error of a call that got no answer within the per-call timeout. */
export function timeoutError(what: string, ms: number): UnavailableError {
  return new UnavailableError(`zookeeper: ${what}: no answer within ${ms} ms`);
}

/** The error of a call made while the client has no connection (calls fail fast, never queue). */
export function disconnectedError(what: string): UnavailableError {
  return new UnavailableError(`zookeeper: ${what}: not connected to the server`);
}

/**
 * The last word on an error no caller handled: a {@link ZkOpError} that reached this far
 * means the znodes are not as the layout expects (e.g. changed by hand), reported as
 * `UnavailableError` so that nothing from the driver escapes untyped.
 */
export function unhandled(err: unknown): unknown {
  if (err instanceof ZkOpError) {
    return new UnavailableError(`zookeeper: unexpected ${err.message}`, { cause: err });
  }
  return err;
}
