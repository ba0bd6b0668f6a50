import type { ServerKind } from './server-handle.js';

/**
 * A program the harness needs is not installed.
 *
 * @example
 * ```ts
 * try {
 *   await startZooKeeper();
 * } catch (err) {
 *   if (err instanceof MissingBinaryError) console.error(`run: ${err.installCommand}`);
 *   throw err;
 * }
 * ```
 */
export class MissingBinaryError extends Error {
  constructor(
    /** The program or file that was looked for, e.g. `redis-server`. */
    readonly binary: string,
    /** The exact command that installs it. */
    readonly installCommand: string,
    /** Where it was looked for. */
    readonly searched: readonly string[],
  ) {
    super(
      `${binary} is not installed (looked in ${searched.join(', ') || 'PATH'}). Install it with: ${installCommand}`,
    );
    this.name = 'MissingBinaryError';
  }
}

/** A server process exited before it was ready, or did not become ready in time. */
export class ServerStartError extends Error {
  constructor(
    /** Which server failed. */
    readonly kind: ServerKind,
    message: string,
    /** The end of the server's log at the time of failure. */
    readonly logTail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${kind} did not start: ${message}${logTail ? `\n--- ${kind} log (tail) ---\n${logTail}` : ''}`,
      options,
    );
    this.name = 'ServerStartError';
  }
}

/** A test asked for a shared server that the vitest globalSetup could not start (or was not asked to start). */
export class BackendUnavailableError extends Error {
  constructor(
    /** Which server is missing. */
    readonly kind: ServerKind,
    /** Why it is missing, e.g. the start error of the globalSetup. */
    readonly reason: string,
  ) {
    super(`shared ${kind} server unavailable: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

/**
 * A database client package the harness needs to probe a server is not installed: the
 * client packages are optional peer dependencies, needed only for the servers you start.
 *
 * @example
 * ```ts
 * try {
 *   await startPostgres();
 * } catch (err) {
 *   if (err instanceof MissingPackageError) console.error(`run: ${err.installCommand}`);
 *   throw err;
 * }
 * ```
 */
export class MissingPackageError extends Error {
  /** The exact command that installs it. */
  readonly installCommand: string;

  constructor(
    /** The npm package that could not be imported, e.g. `pg`. */
    readonly packageName: string,
    /** The server kind that needs it. */
    readonly kind: ServerKind,
    options?: { cause?: unknown },
  ) {
    const installCommand = `npm install --save-dev ${packageName}`;
    super(
      `@polystore/testing needs the npm package "${packageName}" to talk to a ${kind} server, and it is not installed ` +
        `(an optional peer dependency, needed only for ${kind}). Install it with: ${installCommand}`,
      options,
    );
    this.name = 'MissingPackageError';
    this.installCommand = installCommand;
  }
}
