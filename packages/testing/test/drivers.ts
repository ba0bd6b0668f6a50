import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import zookeeper from 'node-zookeeper-client';
import pg from 'pg';
import type { ServerKind } from '../src/index.js';

/** A connection held across a pause, to show that calls hang and then recover. */
export interface HeldConnection {
  /** One cheap round trip; rejects if it takes longer than `timeoutMs`. */
  call(timeoutMs: number): Promise<void>;
  /** Closes the connection, whatever state it is in. */
  close(): Promise<void>;
}

/** What the lifecycle spec needs from a server's real driver. */
export interface Driver {
  /** Stores `value` under `key`, durably acknowledged. */
  write(url: string, key: string, value: string): Promise<void>;
  /** Reads `key`, or null when it is absent. */
  read(url: string, key: string): Promise<string | null>;
  /** Opens a connection for {@link HeldConnection.call}. */
  connect(url: string): Promise<HeldConnection>;
}

/** Rejects after `ms` unless `promise` settles first. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    promise.catch(() => {});
  }
}

const postgres: Driver = {
  async write(url, key, value) {
    await withPg(url, async (client) => {
      await client.query('CREATE TABLE IF NOT EXISTS kv (k text PRIMARY KEY, v text NOT NULL)');
      await client.query(
        'INSERT INTO kv VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v',
        [key, value],
      );
    });
  },
  async read(url, key) {
    return withPg(url, async (client) => {
      const result = await client.query<{ v: string }>('SELECT v FROM kv WHERE k = $1', [key]);
      return result.rows[0]?.v ?? null;
    });
  },
  async connect(url) {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    await client.connect();
    return {
      call: async (timeoutMs) => {
        await within(client.query('SELECT 1'), timeoutMs);
      },
      close: () => within(client.end(), 2_000).catch(() => {}),
    };
  },
};

async function withPg<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

const redis: Driver = {
  async write(url, key, value) {
    await withRedis(url, (client) => client.set(key, value));
  },
  async read(url, key) {
    return withRedis(url, (client) => client.get(key));
  },
  async connect(url) {
    const client = new Redis(url, { maxRetriesPerRequest: 0, lazyConnect: true });
    client.on('error', () => {});
    await client.connect();
    return {
      call: async (timeoutMs) => {
        await within(client.ping(), timeoutMs);
      },
      close: async () => client.disconnect(),
    };
  },
};

async function withRedis<T>(url: string, body: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  await client.connect();
  try {
    return await body(client);
  } finally {
    client.disconnect();
  }
}

const zooKeeper: Driver = {
  async write(url, key, value) {
    await withZk(url, async (client) => {
      const path = `/${key}`;
      const data = Buffer.from(value);
      await new Promise<void>((resolve, reject) =>
        client.create(path, data, (error) => {
          if (error === null) resolve();
          else if ('getCode' in error && error.getCode() === zookeeper.Exception.NODE_EXISTS) {
            client.setData(path, data, (setError) => (setError ? reject(setError) : resolve()));
          } else reject(error);
        }),
      );
    });
  },
  async read(url, key) {
    return withZk(
      url,
      (client) =>
        new Promise<string | null>((resolve, reject) =>
          client.getData(`/${key}`, (error, data) => {
            if (error === null) resolve(data.toString());
            else if ('getCode' in error && error.getCode() === zookeeper.Exception.NO_NODE)
              resolve(null);
            else reject(error);
          }),
        ),
    );
  },
  async connect(url) {
    const client = await openZk(url);
    return {
      call: (timeoutMs) =>
        within(
          new Promise<void>((resolve, reject) =>
            client.exists('/', (error) => (error ? reject(error) : resolve())),
          ),
          timeoutMs,
        ),
      close: async () => client.close(),
    };
  },
};

async function openZk(url: string): Promise<zookeeper.Client> {
  const client = zookeeper.createClient(new URL(url).host, { sessionTimeout: 10_000, retries: 0 });
  const connected = new Promise<void>((resolve) => client.once('connected', resolve));
  client.connect();
  try {
    await within(connected, 10_000);
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}

async function withZk<T>(url: string, body: (client: zookeeper.Client) => Promise<T>): Promise<T> {
  const client = await openZk(url);
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

const mongo: Driver = {
  async write(url, key, value) {
    await withMongo(url, async (client) => {
      await client
        .db('harness')
        .collection<{ _id: string; v: string }>('kv')
        .updateOne(
          { _id: key },
          { $set: { v: value } },
          { upsert: true, writeConcern: { w: 1, j: true } },
        );
    });
  },
  async read(url, key) {
    return withMongo(url, async (client) => {
      const doc = await client
        .db('harness')
        .collection<{ _id: string; v: string }>('kv')
        .findOne({ _id: key });
      return doc?.v ?? null;
    });
  },
  async connect(url) {
    const client = new MongoClient(url, {
      directConnection: true,
      serverSelectionTimeoutMS: 5_000,
    });
    await client.connect();
    return {
      call: async (timeoutMs) => {
        await within(client.db('admin').command({ ping: 1 }), timeoutMs);
      },
      close: () => within(client.close(true), 2_000).catch(() => {}),
    };
  },
};

async function withMongo<T>(url: string, body: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = new MongoClient(url, { directConnection: true, serverSelectionTimeoutMS: 5_000 });
  try {
    return await body(client);
  } finally {
    await client.close();
  }
}

/** The real driver of each server kind. */
export const DRIVERS: Record<ServerKind, Driver> = {
  postgres,
  redis,
  zookeeper: zooKeeper,
  ferretdb: mongo,
};
