import { MongoClient } from 'mongodb';
import { FIXTURE } from '../fixture.js';
import type { Subject } from '../operation.js';
import { cycle, RecordPool } from '../record-pool.js';
import { type RawInstance, rawInstance } from './raw-record.js';

type Doc = Omit<RawInstance, 'id'> & { _id: string };

/** The indexes polystore's Mongo adapter derives for instances. */
const INDEXES: readonly Record<string, 1>[] = [
  { projectId: 1, _id: 1 },
  { host: 1 },
  { displayName: 1, _id: 1 },
  { hostname: 1, _id: 1 },
  { createdAt: 1, _id: 1 },
  { updatedAt: 1, _id: 1 },
  { vmState: 1 },
  { taskState: 1 },
  { objectVersion: 1 },
  { deletedAt: 1 },
];

const toDoc = ({ id, ...rest }: RawInstance): Doc => ({ _id: id, ...rest });

/**
 * The raw MongoDB baseline: `findOne`, `insertOne`, one `findOneAndUpdate` per conditional
 * update, `find().sort().limit()` and `countDocuments`, on a collection with the same
 * indexes.
 */
export async function rawMongo(url: string): Promise<Subject> {
  const client = await MongoClient.connect(url);
  const coll = client.db().collection<Doc>('raw_instances');
  // Only the missing ones: FerretDB 1.24 drops the connection on a createIndexes that
  // names an existing index.
  const have = new Set(
    (
      await coll
        .listIndexes()
        .toArray()
        .catch(() => [])
    ).map((i) => JSON.stringify(i.key)),
  );
  const want = INDEXES.filter((key) => !have.has(JSON.stringify(key)));
  if (want.length > 0) await coll.createIndexes(want.map((key) => ({ key })));
  const p = FIXTURE.projectId;
  let n = 0;
  const seed = async (host: string, k: number) => {
    const rows = Array.from({ length: k }, () => rawInstance(host, n++));
    await coll.insertMany(rows.map(toDoc));
    return rows.map((r) => r.id);
  };
  return {
    name: 'raw mongodb',
    role: 'raw',
    statements: {
      get: 'findOne {_id, projectId, deletedAt: null}',
      create: 'insertOne of the whole record (the client holds what was stored)',
      updateRevision:
        "findOneAndUpdate {_id, projectId, deletedAt: null, revision} $set displayName, updatedAt, $inc revision, returnDocument 'after'",
      updateExpected:
        "findOneAndUpdate {_id, projectId, deletedAt: null, taskState} $set taskState, updatedAt, $inc revision, returnDocument 'after'",
      list: 'find {projectId, deletedAt: null, host} sort _id limit 51',
      count: 'countDocuments {projectId, deletedAt: null, host}',
    },
    ops: {
      get: async () => {
        const next = cycle(await seed(FIXTURE.coldHost, FIXTURE.readRecords));
        return async () => {
          const doc = await coll.findOne({ _id: next(), projectId: p, deletedAt: null });
          if (doc === null) throw new Error('not found');
          return doc;
        };
      },
      create: async () => () => coll.insertOne(toDoc(rawInstance('new', n++))),
      updateRevision: async () => {
        const records = new RecordPool(
          (await seed(FIXTURE.coldHost, FIXTURE.updateRecords)).map((id) => ({ id, revision: 1 })),
        );
        return () =>
          records.use(async (r) => {
            const doc = await coll.findOneAndUpdate(
              { _id: r.id, projectId: p, deletedAt: null, revision: r.revision },
              {
                $set: { displayName: `vm-${n++}`, updatedAt: new Date().toISOString() },
                $inc: { revision: 1 },
              },
              { returnDocument: 'after' },
            );
            if (doc === null) throw new Error('conflict');
            r.revision++;
            return doc;
          });
      },
      updateExpected: async () => {
        const records = new RecordPool(
          (await seed(FIXTURE.coldHost, FIXTURE.updateRecords)).map((id) => ({
            id,
            taskState: null as string | null,
          })),
        );
        return () =>
          records.use(async (r) => {
            const next = r.taskState === null ? 'spawning' : null;
            const doc = await coll.findOneAndUpdate(
              { _id: r.id, projectId: p, deletedAt: null, taskState: r.taskState },
              {
                $set: { taskState: next, updatedAt: new Date().toISOString() },
                $inc: { revision: 1 },
              },
              { returnDocument: 'after' },
            );
            if (doc === null) throw new Error('conflict');
            r.taskState = next;
            return doc;
          });
      },
      list: async () => {
        await seed(FIXTURE.hotHost, FIXTURE.hotRecords);
        return () =>
          coll
            .find({ projectId: p, deletedAt: null, host: FIXTURE.hotHost })
            .sort({ _id: 1 })
            .limit(FIXTURE.pageSize + 1)
            .toArray();
      },
      count: async () => () =>
        coll.countDocuments({ projectId: p, deletedAt: null, host: FIXTURE.hotHost }),
    },
    close: () => client.close(),
  };
}
