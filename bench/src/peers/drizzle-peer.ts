import { and, eq, isNull, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { bigint, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import pg from 'pg';
import type { Address, PeerFactory } from '../backend-target.js';
import { FIXTURE } from '../fixture.js';
import type { Subject } from '../operation.js';
import { instanceTableDdl } from '../raw/raw-postgres.js';
import { rawInstance } from '../raw/raw-record.js';
import { cycle, RecordPool } from '../record-pool.js';

const instances = pgTable('drizzle_instances', {
  id: text('id').primaryKey(),
  projectId: text('project_id'),
  revision: bigint('revision', { mode: 'number' }).notNull(),
  createdAt: text('created_at').notNull(),
  updatedAt: text('updated_at').notNull(),
  deletedAt: text('deleted_at'),
  objectVersion: text('object_version').notNull(),
  displayName: text('display_name').notNull(),
  hostname: text('hostname').notNull(),
  host: text('host'),
  vmState: text('vm_state').notNull(),
  taskState: text('task_state'),
  flavor: jsonb('flavor').notNull(),
  metadata: jsonb('metadata').notNull(),
});

/** Drizzle on the backend's PostgreSQL, as a peer. */
export function drizzleFactory(url: (a: Address) => string, poolSize: number): PeerFactory {
  return {
    name: DRIZZLE,
    ops: ['get', 'create', 'updateRevision'],
    open: (a) => drizzlePeer(url(a), poolSize),
  };
}

const DRIZZLE = 'drizzle (node-postgres)';

/** A placeholder for every column of a record, for one prepared insert of any record. */
const insertPlaceholders = Object.fromEntries(
  Object.keys(rawInstance('shape', 0)).map((k) => [k, sql.placeholder(k)]),
) as unknown as ReturnType<typeof rawInstance>;

/**
 * Drizzle ORM (node-postgres) on the same PostgreSQL, in its fastest mode: every
 * operation a prepared query (`.prepare(name)`, a named statement on each connection)
 * built once with placeholders; insert and update `.returning()` the row, as polystore
 * does. Same table and indexes as the SQL adapter's.
 */
export async function drizzlePeer(url: string, poolSize: number): Promise<Subject> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle connection cut by the server's shutdown at the end of the run is no failure.
  pool.on('error', () => {});
  for (const ddl of instanceTableDdl('drizzle_instances')) await pool.query(ddl);
  const db = drizzle(pool);
  const p = FIXTURE.projectId;
  const live = and(
    eq(instances.id, sql.placeholder('id')),
    eq(instances.projectId, p),
    isNull(instances.deletedAt),
  );
  const getOne = db.select().from(instances).where(live).prepare('drizzle_get');
  const insertOne = db
    .insert(instances)
    .values(insertPlaceholders)
    .returning()
    .prepare('drizzle_create');
  const updateOne = db
    .update(instances)
    .set({
      displayName: sql`${sql.placeholder('name')}`,
      revision: sql`${instances.revision} + 1`,
      updatedAt: sql`${sql.placeholder('at')}`,
    })
    .where(and(live, eq(instances.revision, sql.placeholder('revision'))))
    .returning()
    .prepare('drizzle_update');
  let n = 0;
  const seed = async (k: number) => {
    const rows = Array.from({ length: k }, () => rawInstance(FIXTURE.coldHost, n++));
    for (const r of rows) await db.insert(instances).values(r);
    return rows.map((r) => r.id);
  };
  return {
    name: DRIZZLE,
    role: 'peer',
    statements: {
      get: `prepared 'drizzle_get': ${getOne.getQuery().sql}`,
      create: `prepared 'drizzle_create': ${insertOne.getQuery().sql}`,
      updateRevision: `prepared 'drizzle_update': ${updateOne.getQuery().sql}`,
    },
    ops: {
      get: async () => {
        const next = cycle(await seed(FIXTURE.readRecords));
        return async () => {
          const [row] = await getOne.execute({ id: next() });
          if (row === undefined) throw new Error('not found');
          return row;
        };
      },
      create: async () => async () => {
        const [row] = await insertOne.execute(rawInstance('new', n++));
        return row;
      },
      updateRevision: async () => {
        const records = new RecordPool(
          (await seed(FIXTURE.updateRecords)).map((id) => ({ id, revision: 1 })),
        );
        return () =>
          records.use(async (r) => {
            const [row] = await updateOne.execute({
              id: r.id,
              name: `vm-${n++}`,
              at: new Date().toISOString(),
              revision: r.revision,
            });
            if (row === undefined) throw new Error('conflict');
            r.revision++;
            return row;
          });
      },
    },
    close: () => pool.end(),
  };
}
