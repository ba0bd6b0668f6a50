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
/** The fields polystore's ZooKeeper layout indexes for instances (queryable, not id, not datetime). */
const INDEXED = ['projectId', 'displayName', 'hostname', 'host', 'vmState', 'taskState'] as const;
/** A value as one legal znode name, as polystore encodes it (`_` null, `s` + base64url). */
const enc = (v: unknown) =>
  v === null || v === undefined ? '_' : `s${Buffer.from(String(v)).toString('base64url')}`;
const valueDir = (field: string, v: unknown) => `${ROOT}/index/${field}/${enc(v)}`;
const hostIdx = (host: string | null) => valueDir('host', host);
const liveEntry = (id: string) => `${ROOT}/index/$state/live/${id}`;
/** Where a deleted record's state entry is (none in the benchmark: nothing is deleted). */
const DELETED_DIR = `${ROOT}/index/$state/deleted`;
const versionEntry = (r: RawInstance) => `${ROOT}/index/$version/${r.objectVersion}/${r.id}`;
/** Every index znode of a record: one per indexed field, live membership, object version. */
const indexEntries = (r: RawInstance) => [
  ...INDEXED.map((f) => `${valueDir(f, r[f])}/${r.id}`),
  liveEntry(r.id),
  versionEntry(r),
];
const parentOf = (path: string) => path.slice(0, path.lastIndexOf('/'));

/**
 * The raw ZooKeeper baseline on node-zookeeper-client, with polystore's index layout: a
 * record is a znode of JSON (znode version = revision - 1) with an index znode per indexed
 * field, a live-membership znode and an object-version znode; every write is one `multi`
 * (ZooKeeper's transaction): a create makes all of them; an update sets the data at the
 * znode version read (the revision check), checks the live-membership znode (liveness) and
 * moves the index znodes of the fields it changes. The project is checked on the record
 * read, as polystore's cached read does. Index value directories are created once, when
 * first needed (as polystore's commit does). Reads are `getData`/`getChildren`.
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
  // The index value directories this client knows exist (it is the only writer of its tree).
  const dirs = new Set<string>();
  const mkdirp = async (dir: string) => {
    if (dirs.has(dir)) return;
    await call<string>((cb) => client.mkdirp(dir, cb));
    dirs.add(dir);
  };
  for (const f of INDEXED) {
    const dir = `${ROOT}/index/${f}`;
    await mkdirp(dir);
    // A client opened again on the same tree (the round-trip count) learns what exists.
    for (const v of await call<string[]>((cb) => client.getChildren(dir, cb)))
      dirs.add(`${dir}/${v}`);
  }
  for (const dir of [
    `${ROOT}/i`,
    parentOf(liveEntry('x')),
    DELETED_DIR,
    `${ROOT}/index/$version/1.0`,
  ])
    await mkdirp(dir);
  /**
   * Commits `build`'s multi, with a create of each index value directory it needs and this
   * client has not made yet in the same multi (one exchange, as polystore's commit); if
   * another call made one meanwhile, makes them and commits once more.
   */
  const commit = async (entries: readonly string[], build: () => zookeeper.Transaction) => {
    const fresh = [...new Set(entries.map(parentOf))].filter((d) => !dirs.has(d));
    let tx = build();
    for (const d of fresh) tx = tx.create(d);
    for (const e of entries) tx = tx.create(e);
    try {
      await call<unknown>((cb) => tx.commit(cb));
      for (const d of fresh) dirs.add(d);
    } catch (err) {
      if (fresh.length === 0) throw err;
      for (const d of fresh) await mkdirp(d);
      let again = build();
      for (const e of entries) again = again.create(e);
      await call<unknown>((cb) => again.commit(cb));
    }
  };
  const insert = async (r: RawInstance) => {
    await commit(indexEntries(r), () =>
      client.transaction().create(rec(r.id), Buffer.from(JSON.stringify(r))),
    );
    return r;
  };
  /** The conditional update of `r` to `next`: set at the version, live check, index moves. */
  const update = async (r: RawInstance, next: RawInstance) => {
    const before = indexEntries(r);
    const after = indexEntries(next);
    await commit(
      after.filter((e) => !before.includes(e)),
      () => {
        let tx = client
          .transaction()
          .setData(rec(r.id), Buffer.from(JSON.stringify(next)), r.revision - 1)
          .check(liveEntry(r.id), -1);
        for (const e of before) if (!after.includes(e)) tx = tx.remove(e, -1);
        return tx;
      },
    );
  };
  let n = 0;
  const seed = async (host: string, k: number) => {
    const rows = Array.from({ length: k }, () => rawInstance(host, n++));
    for (const r of rows) await insert(r);
    return rows;
  };
  const p = FIXTURE.projectId;
  /** The children of a directory; none when nothing was entered in it yet (as polystore reads it). */
  const children = (dir: string) =>
    new Promise<string[]>((resolve, reject) =>
      client.getChildren(dir, (err, ids) => {
        const absent =
          err instanceof zookeeper.Exception && err.getCode() === zookeeper.Exception.NO_NODE;
        if (err && !absent) reject(new Error(String(err)));
        else resolve(ids ?? []);
      }),
    );
  /**
   * The ids of the project's live records on the hot host. The host index holds every
   * project's records: the project and liveness are checked with the project index and the
   * deleted-state directory, read in parallel with it, as polystore's list and count do.
   */
  const liveHostIds = async () => {
    const [host, project, deleted] = await Promise.all([
      children(hostIdx(FIXTURE.hotHost)),
      children(valueDir('projectId', p)),
      children(DELETED_DIR),
    ]);
    const inProject = new Set(project);
    const gone = new Set(deleted);
    return host.filter((id) => inProject.has(id) && !gone.has(id));
  };
  const scoped = (r: RawInstance) => {
    if (r.projectId !== p || r.deletedAt !== null) throw new Error('not found');
  };
  return {
    name: 'raw node-zookeeper-client',
    role: 'raw',
    statements: {
      get: 'getData of the record znode; project and liveness checked in the client',
      create:
        'multi: create the record znode, 6 index znodes (projectId, displayName, hostname, host, vmState, taskState), the live-membership and object-version znodes',
      updateRevision:
        'multi: setData at the znode version read, check the live-membership znode, remove + create the displayName index znode',
      updateExpected:
        'multi: setData at the znode version read, check the live-membership znode, remove + create the taskState index znode',
      list: 'getChildren of the host and project index directories and of the deleted-state directory, in parallel; the ids in both indexes and not deleted, sorted; getData of the first 51 in parallel',
      count:
        'getChildren of the host and project index directories and of the deleted-state directory, in parallel; the ids in both indexes and not deleted, counted',
    },
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
            scoped(r);
            await update(r, next);
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
            scoped(r);
            await update(r, next);
            Object.assign(r, next);
            return next;
          });
      },
      list: async () => {
        await seed(FIXTURE.hotHost, FIXTURE.hotRecords);
        return async () => {
          const ids = (await liveHostIds()).sort().slice(0, FIXTURE.pageSize + 1);
          const data = await Promise.all(
            ids.map((id) => call<Buffer>((cb) => client.getData(rec(id), cb))),
          );
          return data.map((d) => JSON.parse(d.toString()));
        };
      },
      count: async () => async () => (await liveHostIds()).length,
    },
    close: async () => {
      client.close();
    },
  };
}
