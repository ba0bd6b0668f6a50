import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { MissingBinaryError } from './errors.js';
import { INSTALL_HINTS, type InstallableBinary } from './install-hints.js';

/** Where to look for a program besides PATH. */
export interface FindBinaryOptions {
  /** Program name to look for; defaults to the hint key. */
  readonly name?: string;
  /** Explicit path (e.g. from an env var); when set, it is the only candidate. */
  readonly override?: string | undefined;
  /** Directories searched before PATH. */
  readonly dirs?: readonly string[];
}

/**
 * Returns the absolute path of an executable, or throws a {@link MissingBinaryError}
 * naming it and the command that installs it.
 *
 * @example
 * ```ts
 * const redisServer = findBinary('redis-server');
 * ```
 */
export function findBinary(binary: InstallableBinary, options: FindBinaryOptions = {}): string {
  const name = options.name ?? binary;
  const candidates =
    options.override !== undefined && options.override !== ''
      ? [options.override]
      : [
          ...(options.dirs ?? []),
          // sbin dirs are often missing from a non-root PATH; redis-server lives in /usr/bin on Debian but not everywhere.
          ...(process.env.PATH ?? '').split(delimiter),
          '/usr/local/sbin',
          '/usr/sbin',
          '/sbin',
        ]
          .filter((dir) => isAbsolute(dir))
          .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    if (isExecutable(candidate)) return candidate;
  }
  throw new MissingBinaryError(name, INSTALL_HINTS[binary], [...new Set(candidates)]);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
