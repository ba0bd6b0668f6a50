import { optionalPeer } from '@polystore/core/adapter';
import type * as Mongodb from 'mongodb';

/** The MongoDB Node.js driver module, as this adapter uses it. */
export type MongoDriver = typeof Mongodb;

const mongodb = optionalPeer<MongoDriver>({
  adapter: 'mongo',
  package: 'mongodb',
  import: () => import('mongodb'),
});

/**
 * The MongoDB driver, imported on first use so that only users of this adapter install it;
 * missing, a `ConfigError` naming `npm install mongodb` (core's `optionalPeer`).
 *
 * @example
 * ```ts
 * const { MongoClient } = await loadDriver();
 * ```
 */
export const loadDriver = (): Promise<MongoDriver> => mongodb.load();

/** The driver if it has been imported: a driver error can only exist once it has. */
export const loadedDriver = (): MongoDriver | undefined => mongodb.loaded();

/** Internal, for tests: points the import elsewhere (`undefined`: back to `import('mongodb')`). */
export const setDriverImporter = mongodb.setImporter;
