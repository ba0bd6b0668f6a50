import zookeeper from 'node-zookeeper-client';
import { FIXTURE } from '../fixture.js';
import type { Subject } from '../operation.js';
import { cycle, RecordPool } from '../record-pool.js';
import { type RawInstance, rawInstance } from './raw-record.js';

type Client = zookeeper.Client;

/** A node-zookeeper-client callback call as a promise. */
const call = <T>(
  fn: (cb: (err: Error | zookeeper.Exception | null, value: T) => void) => void,
): Promise<T> =>
  new Promise((resolve, reject) =>
    fn((err, value) => (err ? reject(new Error(String(err))) : resolve(value))),
  );

const ROOT = '/raw';
const rec = (id: string) => `${ROOT}/i/${id}`;
const hostIdx = (host: string | null, id?: string) =>
  `${ROOT}/host/${host ?? '-'}${id === undefined ? '' : `/${id}`}`;
const taskIdx = (state: string | null, id: string) => `${ROOT}/task/${state ?? '-'}/${id}`;

/**
 * The raw ZooKeeper baseline on node-zookeeper-client: a record is a znode of JSON with
 * index znodes beside it; every write is one `multi` (ZooKeeper's transaction) with the
 * znode version as the revision check; reads are `getData`/`getChildren`.
 */
export async function rawZooKeeper(connect: string): Promise<Subject> {
  const client: Client = zookeeper.createClient(connect, { sessionTimeout: 30_000 });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('zookeeper: connect timeout')), 10_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect();
  });
  for (const path of [
    `${ROOT}/i`,
    hostIdx(FIXTURE.coldHost),
    hostIdx(FIXTURE.hotHost),
    hostIdx('new'),
    `${ROOT}/task/-`,
    `${ROOT}/task/spawning`,
  ]) {
    await call<string>((cb) => client.mkdirp(path, cb));
  }
  const insert = (r: RawInstance) =>
    call<unknown>((cb) =>
      client
        .transaction()
        .create(rec(r.id), Buffer.from(JSON.stringify(r)))
        .create(hostIdx(r.host, r.id))
        .create(taskIdx(r.taskState, r.id))
        .commit(cb),
    );
  let n = 0;
  const seed = async (host: string, k: number) => {
    const rows = Array.from({ length: k }, () => rawInstance(host, n++));
    await Promise.all(rows.map(insert));
    return rows;
  };
  const p = FIXTURE.projectId;
  return {
    name: 'raw node-zookeeper-client',
    role: 'raw',
    ops: {
      get: async () => {
        const next = cycle((await seed(FIXTURE.coldHost, FIXTURE.readRecords)).map((r) => r.id));
        return async () => {
          const data = await call<Buffer>((cb) => client.getData(rec(next()), cb));
          const r = JSON.parse(data.toString()) as RawInstance;
          if (r.projectId !== p || r.deletedAt !== null) throw new Error('not found');
          return r;
        };
      },
      create: async () => () => insert(rawInstance('new', n++)),
      updateRevision: async () => {
        // The caller holds the record it read: that is where its expected revision comes from.
        const records = new RecordPool(await seed(FIXTURE.coldHost, FIXTURE.updateRecords));
        return () =>
          records.use(async (r) => {
            const next = {
              ...r,
              displayName: `vm-${n++}`,
              revision: r.revision + 1,
              updatedAt: new Date().toISOString(),
            };
            await call<unknown>((cb) =>
              client.setData(rec(r.id), Buffer.from(JSON.stringify(next)), r.revision - 1, cb),
            );
            Object.assign(r, next);
            return next;
          });
      },
      updateExpected: async () => {
        const records = new RecordPool(await seed(FIXTURE.coldHost, FIXTURE.updateRecords));
        return () =>
          records.use(async (r) => {
            const taskState = r.taskState === null ? 'spawning' : null;
            const next = {
              ...r,
              taskState,
              revision: r.revision + 1,
              updatedAt: new Date().toISOString(),
            };
            await call<unknown>((cb) =>
              client
                .transaction()
                .setData(rec(r.id), Buffer.from(JSON.stringify(next)), r.revision - 1)
                .remove(taskIdx(r.taskState, r.id))
                .create(taskIdx(taskState, r.id))
                .commit(cb),
            );
            Object.assign(r, next);
            return next;
          });
      },
      list: async () => {
        await seed(FIXTURE.hotHost, FIXTURE.hotRecords);
        return async () => {
          const ids = (
            await call<string[]>((cb) => client.getChildren(hostIdx(FIXTURE.hotHost), cb))
          )
            .sort()
            .slice(0, FIXTURE.pageSize + 1);
          const data = await Promise.all(
            ids.map((id) => call<Buffer>((cb) => client.getData(rec(id), cb))),
          );
          return data.map((d) => JSON.parse(d.toString()));
        };
      },
      count: async () => async () =>
        (await call<zookeeper.Stat>((cb) => client.exists(hostIdx(FIXTURE.hotHost), cb)))
          .numChildren,
    },
    close: async () => {
      client.close();
    },
  };
}
