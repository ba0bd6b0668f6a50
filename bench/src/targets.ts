import { join } from 'node:path';
import { startFerretDb, startPostgres, startRedis, startZooKeeper } from '@polystore/testing';
import type { Address, BackendName, BackendTarget, StartedServer } from './backend-target.js';
import { drizzleFactory } from './peers/drizzle-peer.js';
import { keyvFactory } from './peers/keyv-peer.js';
import { rawMongo } from './raw/raw-mongo.js';
import { rawPostgres } from './raw/raw-postgres.js';
import { rawRedis } from './raw/raw-redis.js';
import { rawSqlite } from './raw/raw-sqlite.js';
import { rawZooKeeper } from './raw/raw-zookeeper.js';
import { postgresClock, redisClock } from './server-clock.js';

/** The SQL adapter's default pool, given to the raw pool and Drizzle too. */
const PG_POOL = 10;
const DATABASE = 'bench';

const need = (a: Address | undefined): Address => {
  if (a === undefined) throw new Error('this backend needs a server address');
  return a;
};
const pgUrl = (a: Address | undefined) =>
  `postgres://postgres@${need(a).host}:${need(a).port}/${DATABASE}`;
// Server monitoring every minute instead of every 10 s: a heartbeat is background traffic
// the round-trip count would otherwise have to subtract (operations are unaffected).
const mongoUrl = (a: Address | undefined) =>
  `mongodb://${need(a).host}:${need(a).port}/${DATABASE}?directConnection=true&heartbeatFrequencyMS=60000`;
const redisUrl = (a: Address | undefined) => `redis://${need(a).host}:${need(a).port}`;

/** A harness server handle as a {@link StartedServer}. */
function started(
  handle: { host: string; port: number; stop(): Promise<void> },
  description: string,
): StartedServer {
  return {
    address: { host: handle.host, port: handle.port },
    description,
    stop: () => handle.stop(),
  };
}

/** Every backend of the report, each on a throwaway server from `@polystore/testing`. */
export const TARGETS: Readonly<Record<BackendName, BackendTarget>> = {
  memory: {
    name: 'memory',
    embedded: true,
    start: async () => undefined,
    storeUrl: () => 'memory:',
    peers: [],
  },
  sqlite: {
    name: 'sqlite',
    embedded: true,
    start: async () => undefined,
    storeUrl: (_, work) => `sqlite:${join(work, 'polystore.db')}`,
    raw: (_, work) => rawSqlite(join(work, 'raw.db')),
    peers: [],
  },
  postgres: {
    name: 'postgres',
    embedded: false,
    start: async () => {
      // pg_stat_statements (with planning) gives the server's time per call.
      const pg = await startPostgres({
        fast: true,
        settings: {
          shared_preload_libraries: 'pg_stat_statements',
          'pg_stat_statements.track_planning': 'on',
        },
      });
      await pg.createDatabase(DATABASE);
      await pg.createDatabase(`${DATABASE}_scale`);
      await pg.createDatabase(`${DATABASE}_scale_small`);
      return started(pg, 'PostgreSQL (harness, fsync off)');
    },
    storeUrl: pgUrl,
    raw: (a) => rawPostgres(pgUrl(a), PG_POOL),
    floor: (a) => rawPostgres(pgUrl(a), PG_POOL, true),
    peers: [keyvFactory('postgres', pgUrl), drizzleFactory(pgUrl, PG_POOL)],
    serverClock: (a) => postgresClock(pgUrl(a)),
  },
  redis: {
    name: 'redis',
    embedded: false,
    // No automatic AOF rewrite: a rewrite forks the server (8 to 11 ms here at 80 to
    // 140 MB) and slows its writes while the child copies, which lands on whichever
    // subject's slice is running. In 64,000 creates on one server, the two rewrites fell in
    // blocks of 2,000 raw creates whose p99 went from about 0.5 to 2.4 and 3.0 ms. The AOF
    // is still written, as before. The scale load turns the rewrites back on (redisLoader).
    start: async () =>
      started(
        await startRedis({ appendfsync: 'no', settings: { 'auto-aof-rewrite-percentage': 0 } }),
        'Redis (harness, appendfsync no, no automatic AOF rewrite)',
      ),
    storeUrl: redisUrl,
    raw: (a) => rawRedis(redisUrl(a)),
    floor: (a) => rawRedis(redisUrl(a), true),
    peers: [keyvFactory('redis', redisUrl)],
    serverClock: (a) => redisClock(redisUrl(a)),
  },
  zookeeper: {
    name: 'zookeeper',
    embedded: false,
    // The harness's JVM is sized for tests (256 MB heap, C1 only); the scale test keeps about
    // ten znodes per record in the server's memory.
    start: async () =>
      started(
        await startZooKeeper({ fast: true, jvmOptions: ['-Xmx2g', '-XX:TieredStopAtLevel=4'] }),
        'ZooKeeper standalone (harness, forceSync no, -Xmx2g, full JIT)',
      ),
    storeUrl: (a) => `zookeeper://${need(a).host}:${need(a).port}/bench`,
    raw: (a) => rawZooKeeper(`${need(a).host}:${need(a).port}`),
    peers: [],
  },
  mongo: {
    name: 'mongo',
    embedded: false,
    start: async () => started(await startFerretDb(), 'FerretDB 1.24 on SQLite (harness)'),
    storeUrl: mongoUrl,
    raw: (a) => rawMongo(mongoUrl(a)),
    peers: [keyvFactory('mongo', mongoUrl)],
  },
};
