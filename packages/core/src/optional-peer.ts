import { ConfigError } from './errors.js';

/** What {@link optionalPeer} is told about the library. */
export interface OptionalPeerOptions<T> {
  /** The adapter's name, the first word of the error (`redis`). */
  readonly adapter: string;
  /** The npm package (`ioredis`). */
  readonly package: string;
  /** What needs it, when not the whole adapter (`postgres: and postgresql: URLs`). */
  readonly neededBy?: string;
  /** The import itself, written out so that bundlers see it: `() => import('ioredis')`. */
  readonly import: () => Promise<unknown>;
  /** The library from its module (a CommonJS package's `default`); the module itself by default. */
  readonly pick?: (module: unknown) => T;
}

/** A client library loaded lazily: {@link optionalPeer}. */
export interface OptionalPeer<T> {
  /** The library, imported once per process; a failed import is tried again on the next call. */
  load(): Promise<T>;
  /** The library if it was imported already (a synchronous error check needs its classes). */
  loaded(): T | undefined;
  /**
   * Internal, for tests: replaces how the package is imported (`undefined` restores the
   * real import) and forgets it if it was loaded, so the next `load` imports it again.
   */
  setImporter(replacement: (() => Promise<unknown>) | undefined): void;
}

/**
 * An adapter's client library as an optional peer dependency, imported on the first open
 * so that a program that never opens that kind of store needs none of it installed. A
 * package that is not installed, or fails to load (a native binding built for another
 * Node), is a `ConfigError` naming it and its `npm install` command; every adapter words
 * it the same way.
 *
 * @example
 * ```ts
 * const ioredis = optionalPeer<typeof import('ioredis')>({
 *   adapter: 'redis',
 *   package: 'ioredis',
 *   import: () => import('ioredis'),
 * });
 * const { Redis } = await ioredis.load();
 * ```
 */
export function optionalPeer<T>(options: OptionalPeerOptions<T>): OptionalPeer<T> {
  const pick = options.pick ?? ((module: unknown) => module as T);
  let importer = options.import;
  let loading: Promise<T> | undefined;
  let loaded: T | undefined;
  return Object.freeze({
    load(): Promise<T> {
      loading ??= importer().then(
        (module) => {
          loaded = pick(module);
          return loaded;
        },
        (err: unknown) => {
          loading = undefined;
          throw notLoaded(options, err);
        },
      );
      return loading;
    },
    loaded: () => loaded,
    setImporter(replacement: (() => Promise<unknown>) | undefined): void {
      importer = replacement ?? options.import;
      loading = undefined;
      loaded = undefined;
    },
  });
}

function notLoaded(options: OptionalPeerOptions<unknown>, err: unknown): ConfigError {
  const code = (err as { code?: unknown } | null)?.code;
  const message = String((err as Error | null)?.message ?? err);
  const missing =
    code === 'ERR_MODULE_NOT_FOUND' ||
    code === 'MODULE_NOT_FOUND' ||
    /cannot find (module|package)|failed to (load|resolve) url/i.test(message);
  const why = missing ? 'is not installed' : `failed to load (${message})`;
  const who = options.neededBy ? `${options.neededBy} need` : 'the adapter needs';
  return new ConfigError(
    `${options.adapter}: ${who} the ${options.package} package (an optional peer dependency), which ${why}: npm install ${options.package}`,
    { cause: err },
  );
}
