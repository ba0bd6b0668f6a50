import type { StoresOptions } from '@polystore/core';
import type { MongoClientOptions } from 'mongodb';

/**
 * Options of the MongoDB adapter. Everything may also come from the URL:
 * `mongodb://host:27017/<database>?prefix=<collection prefix>` plus any MongoDB
 * connection-string option (https://www.mongodb.com/docs/manual/reference/connection-string-options/).
 * Options given here win over the URL.
 */
export interface MongoOptions extends StoresOptions {
  /** The database holding the collections. Default: the URL path, else `polystore`. */
  readonly database?: string;
  /**
   * A prefix of every collection name (`<prefix><resource plural>`), so several stores
   * can share one database. Default: the URL's `?prefix=`, else none.
   */
  readonly prefix?: string;
  /**
   * How long an operation waits for a reachable server before failing with
   * `UnavailableError`, in ms. Short so calls fail fast while the server is down. Default 2000.
   * (https://www.mongodb.com/docs/drivers/node/current/fundamentals/connection/connection-options/)
   */
  readonly serverSelectionTimeoutMS?: number;
  /** How long opening a TCP connection may take, in ms. Default 2000. */
  readonly connectTimeoutMS?: number;
  /**
   * How long a command may wait for the server's reply on an open connection, in ms. A
   * stalled server fails calls with `UnavailableError` after it. Default 10 000.
   */
  readonly socketTimeoutMS?: number;
  /** Most connections the client opens to each server. Default 10. */
  readonly maxPoolSize?: number;
  /**
   * Run the conditional writes (update, delete) of each record one at a time among all
   * stores of this process. FerretDB v1.24 executes `findAndModify` as a read followed by an
   * unconditional write, so concurrent conditional updates of one record can both succeed;
   * this closes that race within a process (not across processes). Default: on when the
   * server reports itself as FerretDB, off for MongoDB, whose `findAndModify` is atomic.
   */
  readonly serializeWrites?: boolean;
  /** Further `MongoClient` options (TLS, auth, ...); the ones above win. Default none. */
  readonly clientOptions?: MongoClientOptions;
}

/** The defaults of {@link MongoOptions}. */
export const MONGO_DEFAULTS = Object.freeze({
  database: 'polystore',
  prefix: '',
  serverSelectionTimeoutMS: 2_000,
  connectTimeoutMS: 2_000,
  socketTimeoutMS: 10_000,
  maxPoolSize: 10,
});
