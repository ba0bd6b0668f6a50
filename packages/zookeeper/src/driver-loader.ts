import { ConfigError } from '@polystore/core';
import type Driver from 'node-zookeeper-client';

/** The npm package the adapter drives ZooKeeper with: an optional peer dependency. */
const PACKAGE = 'node-zookeeper-client';

/** node-zookeeper-client's module (its default export: `createClient`, `Exception`, ...). */
export type ZooKeeperDriver = typeof Driver;

type Importer = () => Promise<unknown>;

const IMPORT: Importer = () => import('node-zookeeper-client');

let importer: Importer = IMPORT;
let loaded: Promise<ZooKeeperDriver> | undefined;

/**
 * node-zookeeper-client, imported on the first open of the process, so that an install of
 * polystore without ZooKeeper never loads it. A package that is not installed (or fails to
 * load) is a `ConfigError` naming it and the `npm install` command; a failed import is
 * tried again on the next open.
 *
 * @example
 * ```ts
 * const zookeeper = await loadDriver();
 * const client = zookeeper.createClient('127.0.0.1:2181');
 * ```
 */
export function loadDriver(): Promise<ZooKeeperDriver> {
  loaded ??= importer().then(
    (mod) => {
      // A CommonJS package: its exports object is the ES module's default export.
      const m = mod as { default?: ZooKeeperDriver } & ZooKeeperDriver;
      return m.default ?? m;
    },
    (err: unknown) => {
      loaded = undefined;
      throw notLoaded(err);
    },
  );
  return loaded;
}

function notLoaded(err: unknown): ConfigError {
  const code = (err as { code?: unknown } | null)?.code;
  const message = String((err as Error | null)?.message ?? err);
  const missing =
    code === 'ERR_MODULE_NOT_FOUND' ||
    code === 'MODULE_NOT_FOUND' ||
    /Cannot find (module|package)|Failed to load url/.test(message);
  const why = missing ? 'is not installed' : `failed to load (${message})`;
  return new ConfigError(
    `zookeeper: the adapter needs the ${PACKAGE} package (an optional peer dependency of @polystore/zookeeper), which ${why}: npm install ${PACKAGE}`,
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
