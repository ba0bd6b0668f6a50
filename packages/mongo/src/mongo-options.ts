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
   * The fail-fast bound: every call (every command it needs included: the write claim, the
   * write, the reads that explain a failure, the wait for another writer) ends within it,
   * failing with a retriable `UnavailableError` when the server is frozen, unreachable or
   * slow, in ms. A write cut off may or may not have taken effect. Default 5000.
   */
  readonly failFastMs?: number;
  /**
   * How long an operation waits for a reachable server before failing with
   * `UnavailableError`, in ms. Short so calls fail fast while the server is down. Default
   * 2000 (at most `failFastMs`).
   * (https://www.mongodb.com/docs/drivers/node/current/fundamentals/connection/connection-options/)
   */
  readonly serverSelectionTimeoutMS?: number;
  /** How long opening a TCP connection may take, in ms. Default 2000. */
  readonly connectTimeoutMS?: number;
  /**
   * How long a command may wait for the server's reply on an open connection, in ms. The
   * driver then closes the connection. Calls end within `failFastMs` whatever this is; it
   * bounds how long a command given up with its call still occupies a connection. Default
   * `failFastMs`.
   */
  readonly socketTimeoutMS?: number;
  /** Most connections the client opens to each server. Default 10. */
  readonly maxPoolSize?: number;
  /**
   * Run the conditional writes (update, delete) of each record one at a time among all
   * stores of this process. FerretDB v1.24 executes `findAndModify` as a read followed by an
   * unconditional write, so concurrent conditional updates of one record can both succeed;
   * this closes that race within a process (`claimWrites` closes it across processes, and
   * this spares claims that would only wait for each other). Default: on when the
   * server reports itself as FerretDB, off for MongoDB, whose `findAndModify` is atomic.
   */
  readonly serializeWrites?: boolean;
  /**
   * Make every conditional write (update, delete, release) exclusive across processes by
   * first claiming its revision step with a unique insert into the `<prefix>_claims`
   * collection (see `RecordClaims`). FerretDB v1 does not run `findAndModify` atomically,
   * so without claims writers in different processes lose each other's updates. Costs two
   * more commands per write (claim, release). Default: on when the server reports itself as
   * FerretDB, off for MongoDB.
   */
  readonly claimWrites?: boolean;
  /**
   * How long another process's claim may stay while its record does not move before it
   * counts as left by a crashed process and is taken over, in ms. Far above any write's
   * duration, since a live claimant paused for longer could race its successor. Writes to
   * that one record wait (failing with `UnavailableError` after `failFastMs`, and
   * taking the record over on a later call) until then. Default 30 000.
   */
  readonly claimTimeoutMS?: number;
  /** Further `MongoClient` options (TLS, auth, ...); the ones above win. Default none. */
  readonly clientOptions?: MongoClientOptions;
}

/** The defaults of {@link MongoOptions}. */
export const MONGO_DEFAULTS = Object.freeze({
  database: 'polystore',
  prefix: '',
  failFastMs: 5_000,
  serverSelectionTimeoutMS: 2_000,
  connectTimeoutMS: 2_000,
  maxPoolSize: 10,
  claimTimeoutMS: 30_000,
});
