import { ConfigError } from '@polystore/core';
import type * as Mongodb from 'mongodb';

/** The MongoDB Node.js driver module, as this adapter uses it. */
export type MongoDriver = typeof Mongodb;

/** The driver's npm package: an optional peer dependency, installed by the user. */
const PACKAGE = 'mongodb';

const importDriver = (): Promise<MongoDriver> => import('mongodb');

/** How the driver is imported: `import('mongodb')`, or what a test points it at. */
let load: () => Promise<MongoDriver> = importDriver;
/** The one import of the driver, shared by every open of this process. */
let loading: Promise<MongoDriver> | undefined;
/** The driver once imported, for the synchronous error checks of `errors.ts`. */
let loaded: MongoDriver | undefined;

/**
 * Imports the MongoDB driver on first use, so that only users of this adapter install it
 * (`mongodb` is an optional peer dependency). Fails with a `ConfigError` that names the
 * package and the command installing it when it cannot be imported.
 *
 * @example
 * ```ts
 * const { MongoClient } = await loadDriver();
 * ```
 */
export function loadDriver(): Promise<MongoDriver> {
  loading ??= load().then(
    (driver) => {
      loaded = driver;
      return driver;
    },
    (err: unknown) => {
      // Not cached: installing the package and opening again works in the same process.
      loading = undefined;
      const code = (err as { code?: unknown } | null)?.code;
      const missing =
        code === 'ERR_MODULE_NOT_FOUND' ||
        code === 'MODULE_NOT_FOUND' ||
        /cannot find (package|module)|failed to (load|resolve)/i.test(String(err));
      throw new ConfigError(
        `mongo: the MongoDB driver package "${PACKAGE}" ${missing ? 'is not installed' : 'could not be loaded'}; ` +
          `it is an optional peer dependency of @polystore/mongo: npm install ${PACKAGE}` +
          (missing ? '' : ` (${err instanceof Error ? err.message : String(err)})`),
        { cause: err },
      );
    },
  );
  return loading;
}

/** The driver if it has been imported: a driver error can only exist once it has. */
export function loadedDriver(): MongoDriver | undefined {
  return loaded;
}

/**
 * Points the driver import elsewhere (`undefined`: back to `import('mongodb')`) and forgets
 * the driver imported so far. For tests of a missing driver only.
 */
export function setDriverImporter(importer: (() => Promise<MongoDriver>) | undefined): void {
  load = importer ?? importDriver;
  loading = undefined;
  loaded = undefined;
}
