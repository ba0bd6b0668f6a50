import pg from 'pg';
import { FIXTURE } from '../fixture.js';
import type { Subject } from '../operation.js';
import { cycle, RecordPool } from '../record-pool.js';
import { type RawInstance, rawInstance } from './raw-record.js';

const COLUMNS =
  'id, project_id, revision, created_at, updated_at, deleted_at, object_version, display_name, hostname, host, vm_state, task_state, flavor, metadata';

/**
 * The same table and indexes as the SQL adapter's `instances`, so writes maintain as much;
 * Drizzle's table is made the same way.
 */
export function instanceTableDdl(table: string): string[] {
  const ix = (name: string, cols: string, where = '') =>
    `CREATE INDEX IF NOT EXISTS ${table}_${name} ON ${table} (${cols})${where}`;
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (id text COLLATE "C" PRIMARY KEY, project_id text COLLATE "C", revision bigint NOT NULL,
      created_at text COLLATE "C" NOT NULL, updated_at text COLLATE "C" NOT NULL, deleted_at text COLLATE "C", object_version text COLLATE "C" NOT NULL,
      display_name text COLLATE "C" NOT NULL, hostname text COLLATE "C" NOT NULL, host text COLLATE "C", vm_state text COLLATE "C" NOT NULL,
      task_state text COLLATE "C", flavor jsonb NOT NULL, metadata jsonb NOT NULL)`,
    ix('project', 'project_id'),
    ix('created', 'created_at, id'),
    ix('updated', 'updated_at, id'),
    ix('name', 'display_name, id'),
    ix('hostname', 'hostname, id'),
    ix('host', 'host'),
    ix('vm_state', 'vm_state'),
    ix('task_state', 'task_state'),
    ix('version', 'object_version'),
    ix('gone', 'deleted_at', ' WHERE deleted_at IS NOT NULL'),
  ];
}

function params(r: RawInstance): unknown[] {
  return [
    r.id,
    r.projectId,
    r.revision,
    r.createdAt,
    r.updatedAt,
    r.deletedAt,
    r.objectVersion,
    r.displayName,
    r.hostname,
    r.host,
    r.vmState,
    r.taskState,
    JSON.stringify(r.flavor),
    JSON.stringify(r.metadata),
  ];
}

const LIVE = 'project_id = $1 AND deleted_at IS NULL';

/** Each operation's one statement on `table`, as sent (stated in the report). */
const statementsOn = (table: string) => {
  const INSERT = `INSERT INTO ${table} (${COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`;
  return {
    seed: INSERT,
    get: `SELECT ${COLUMNS} FROM ${table} WHERE id = $2 AND ${LIVE}`,
    // The row comes back, as polystore's create returns the stored record.
    create: `${INSERT} RETURNING ${COLUMNS}`,
    updateRevision: `UPDATE ${table} SET display_name = $3, revision = revision + 1, updated_at = $4
               WHERE id = $2 AND ${LIVE} AND revision = $5 RETURNING ${COLUMNS}`,
    updateExpected: `UPDATE ${table} SET task_state = $3, revision = revision + 1, updated_at = $4
               WHERE id = $2 AND ${LIVE} AND task_state IS NOT DISTINCT FROM $5 RETURNING ${COLUMNS}`,
    list: `SELECT ${COLUMNS} FROM ${table} WHERE ${LIVE} AND host = $2 ORDER BY id LIMIT $3`,
    count: `SELECT count(*) FROM ${table} WHERE ${LIVE} AND host = $2`,
  } as const;
};

/**
 * The raw PostgreSQL baseline: one statement per operation on `pg`, with the same
 * conditions polystore's SQL adapter must check (project, live, revision / expected value),
 * every write returning its row. `named`: every statement a named (prepared) statement,
 * parsed and planned once per connection: the best use of the driver, the floor to beat;
 * otherwise unnamed `pool.query` (parsed and planned on every call), the fair baseline.
 */
export async function rawPostgres(url: string, poolSize: number, named = false): Promise<Subject> {
  const table = named ? 'raw_named_instances' : 'raw_instances';
  const SQL = statementsOn(table);
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  const run = (op: keyof typeof SQL, values: unknown[]) =>
    named ? pool.query({ name: `raw_${op}`, text: SQL[op], values }) : pool.query(SQL[op], values);
  // An idle connection cut by the server's shutdown at the end of the run is no failure.
  pool.on('error', () => {});
  for (const ddl of instanceTableDdl(table)) await pool.query(ddl);
  let n = 0;
  const seed = async (host: string, count: number) => {
    const rows = Array.from({ length: count }, () => rawInstance(host, n++));
    for (const r of rows) await pool.query(SQL.seed, params(r));
    return rows.map((r) => r.id);
  };
  const p = FIXTURE.projectId;
  return {
    name: named ? 'raw pg (named statements)' : 'raw pg',
    role: 'raw',
    ...(named ? { floor: true } : {}),
    statements: {
      get: SQL.get,
      create: SQL.create,
      updateRevision: SQL.updateRevision,
      updateExpected: SQL.updateExpected,
      list: SQL.list,
      count: SQL.count,
    },
    ops: {
      get: async () => {
        const next = cycle(await seed(FIXTURE.coldHost, FIXTURE.readRecords));
        return async () => {
          const { rows } = await run('get', [p, next()]);
          if (rows.length !== 1) throw new Error('not found');
          return rows[0];
        };
      },
      create: async () => async () => {
        const { rows } = await run('create', params(rawInstance('new', n++)));
        return rows[0];
      },
      updateRevision: async () => {
        const ids = await seed(FIXTURE.coldHost, FIXTURE.updateRecords);
        const records = new RecordPool(ids.map((id) => ({ id, revision: 1 })));
        return () =>
          records.use(async (r) => {
            const { rows } = await run('updateRevision', [
              p,
              r.id,
              `vm-${n++}`,
              new Date().toISOString(),
              r.revision,
            ]);
            if (rows.length !== 1) throw new Error('conflict');
            r.revision++;
            return rows[0];
          });
      },
      updateExpected: async () => {
        const ids = await seed(FIXTURE.coldHost, FIXTURE.updateRecords);
        const records = new RecordPool(ids.map((id) => ({ id, taskState: null as string | null })));
        return () =>
          records.use(async (r) => {
            const next = r.taskState === null ? 'spawning' : null;
            const { rows } = await run('updateExpected', [
              p,
              r.id,
              next,
              new Date().toISOString(),
              r.taskState,
            ]);
            if (rows.length !== 1) throw new Error('conflict');
            r.taskState = next;
            return rows[0];
          });
      },
      list: async () => {
        await seed(FIXTURE.hotHost, FIXTURE.hotRecords);
        return async () => (await run('list', [p, FIXTURE.hotHost, FIXTURE.pageSize + 1])).rows;
      },
      count: async () => async () => (await run('count', [p, FIXTURE.hotHost])).rows[0],
    },
    close: () => pool.end(),
  };
}
