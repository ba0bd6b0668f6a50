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

/**
 * Drizzle ORM (node-postgres) on the same PostgreSQL: insert, select by id and a
 * revision-checked `update … returning`, on a table like the SQL adapter's.
 */
export async function drizzlePeer(url: string, poolSize: number): Promise<Subject> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle connection cut by the server's shutdown at the end of the run is no failure.
  pool.on('error', () => {});
  for (const ddl of instanceTableDdl('drizzle_instances')) await pool.query(ddl);
  const db = drizzle(pool);
  const p = FIXTURE.projectId;
  const live = (id: string) =>
    and(eq(instances.id, id), eq(instances.projectId, p), isNull(instances.deletedAt));
  let n = 0;
  const seed = async (k: number) => {
    const rows = Array.from({ length: k }, () => rawInstance(FIXTURE.coldHost, n++));
    for (const r of rows) await db.insert(instances).values(r);
    return rows.map((r) => r.id);
  };
  return {
    name: DRIZZLE,
    role: 'peer',
    ops: {
      get: async () => {
        const next = cycle(await seed(FIXTURE.readRecords));
        return async () => {
          const [row] = await db.select().from(instances).where(live(next()));
          if (row === undefined) throw new Error('not found');
          return row;
        };
      },
      create: async () => () => db.insert(instances).values(rawInstance('new', n++)),
      updateRevision: async () => {
        const records = new RecordPool(
          (await seed(FIXTURE.updateRecords)).map((id) => ({ id, revision: 1 })),
        );
        return () =>
          records.use(async (r) => {
            const [row] = await db
              .update(instances)
              .set({
                displayName: `vm-${n++}`,
                revision: sql`${instances.revision} + 1`,
                updatedAt: new Date().toISOString(),
              })
              .where(and(live(r.id), eq(instances.revision, r.revision)))
              .returning();
            if (row === undefined) throw new Error('conflict');
            r.revision++;
            return row;
          });
      },
    },
    close: () => pool.end(),
  };
}
