import { ConfigError } from '@polystore/core';

/** The client library's module. */
export type Ioredis = typeof import('ioredis');

/** The npm package of the client library, an optional peer dependency. */
const PACKAGE = 'ioredis';

type Importer = () => Promise<unknown>;

const IMPORT: Importer = () => import('ioredis');

let importer: Importer = IMPORT;
let loaded: Promise<Ioredis> | undefined;

/**
 * ioredis, imported on the first open of the process, so that a program that never opens a
 * Redis store needs no `ioredis` installed. A package that is not installed (or fails to
 * load) is a `ConfigError` naming it and its install command; a failed import is tried
 * again on the next open.
 *
 * @example
 * ```ts
 * const { Redis } = await loadDriver();
 * const client = new Redis(6379, '127.0.0.1', { lazyConnect: true });
 * ```
 */
export function loadDriver(): Promise<Ioredis> {
  loaded ??= importer().then(
    (mod) => mod as Ioredis,
    (err: unknown) => {
      loaded = undefined;
      throw notLoaded(err);
    },
  );
  return loaded;
}

function notLoaded(err: unknown): ConfigError {
  const missing = (err as { code?: unknown } | null)?.code === 'ERR_MODULE_NOT_FOUND';
  return new ConfigError(
    `redis: the Redis client library ${PACKAGE} ${missing ? 'is not installed' : 'could not be loaded'} (an optional peer dependency of @polystore/redis): npm install ${PACKAGE}`,
    { cause: err },
  );
}

/**
 * Internal, for tests: replaces how the package is imported (`undefined` restores the
 * real import) and forgets it if it was loaded, so the next open imports it again.
 */
export function setDriverImporter(replacement: Importer | undefined): void {
  importer = replacement ?? IMPORT;
  loaded = undefined;
}
