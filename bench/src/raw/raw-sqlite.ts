import Database, { type Statement } from 'better-sqlite3';
import { FIXTURE } from '../fixture.js';
import type { Subject } from '../operation.js';
import { cycle, RecordPool } from '../record-pool.js';
import { type RawInstance, rawInstance } from './raw-record.js';

const COLUMNS =
  'id, project_id, revision, created_at, updated_at, deleted_at, object_version, display_name, hostname, host, vm_state, task_state, flavor, metadata';

/** The same table and indexes as the SQL adapter's `instances` on SQLite. */
const DDL = `
  CREATE TABLE IF NOT EXISTS raw_instances (id text PRIMARY KEY, project_id text, revision integer NOT NULL,
    created_at text NOT NULL, updated_at text NOT NULL, deleted_at text, object_version text NOT NULL,
    display_name text NOT NULL, hostname text NOT NULL, host text, vm_state text NOT NULL,
    task_state text, flavor text NOT NULL, metadata text NOT NULL);
  CREATE INDEX IF NOT EXISTS raw_instances_project ON raw_instances (project_id);
  CREATE INDEX IF NOT EXISTS raw_instances_created ON raw_instances (created_at, id);
  CREATE INDEX IF NOT EXISTS raw_instances_updated ON raw_instances (updated_at, id);
  CREATE INDEX IF NOT EXISTS raw_instances_name ON raw_instances (display_name, id);
  CREATE INDEX IF NOT EXISTS raw_instances_hostname ON raw_instances (hostname, id);
  CREATE INDEX IF NOT EXISTS raw_instances_host ON raw_instances (host);
  CREATE INDEX IF NOT EXISTS raw_instances_vm_state ON raw_instances (vm_state);
  CREATE INDEX IF NOT EXISTS raw_instances_task_state ON raw_instances (task_state);
  CREATE INDEX IF NOT EXISTS raw_instances_version ON raw_instances (object_version);
  CREATE INDEX IF NOT EXISTS raw_instances_gone ON raw_instances (deleted_at) WHERE deleted_at IS NOT NULL;
`;

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

/** A row as a record: JSON columns parsed, as any client would. */
function decode(row: Record<string, unknown> | undefined) {
  if (row === undefined) throw new Error('not found');
  return {
    ...row,
    flavor: JSON.parse(row.flavor as string),
    metadata: JSON.parse(row.metadata as string),
  };
}

const LIVE = 'project_id = ? AND deleted_at IS NULL';

/**
 * The row a write returns (`… RETURNING`), the statement run to its end as the adapter runs
 * it: SQLite checkpoints the WAL only after a statement that ran to its end, so a write read
 * with `get` would never checkpoint and do less work than polystore's.
 */
function written(statement: Statement, ...args: unknown[]): Record<string, unknown> | undefined {
  return (statement.all(...args) as Record<string, unknown>[])[0];
}

/**
 * The raw SQLite baseline: one prepared better-sqlite3 statement per operation, in a
 * file of its own with the adapter's pragmas (WAL, synchronous=NORMAL).
 */
export async function rawSqlite(path: string): Promise<Subject> {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(DDL);
  const insertSql = `INSERT INTO raw_instances (${COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`;
  const insert = db.prepare(insertSql);
  // The row comes back, as polystore's create returns the stored record.
  const create = db.prepare(`${insertSql} RETURNING ${COLUMNS}`);
  const get = db.prepare(`SELECT ${COLUMNS} FROM raw_instances WHERE ${LIVE} AND id = ?`);
  const updateRevision = db.prepare(
    `UPDATE raw_instances SET display_name = ?, revision = revision + 1, updated_at = ?
     WHERE ${LIVE} AND id = ? AND revision = ? RETURNING ${COLUMNS}`,
  );
  const updateExpected = db.prepare(
    `UPDATE raw_instances SET task_state = ?, revision = revision + 1, updated_at = ?
     WHERE ${LIVE} AND id = ? AND task_state IS ? RETURNING ${COLUMNS}`,
  );
  const list = db.prepare(
    `SELECT ${COLUMNS} FROM raw_instances WHERE ${LIVE} AND host = ? ORDER BY id LIMIT ?`,
  );
  const count = db.prepare(`SELECT count(*) AS n FROM raw_instances WHERE ${LIVE} AND host = ?`);
  let n = 0;
  const seed = (host: string, k: number) => {
    const rows = Array.from({ length: k }, () => rawInstance(host, n++));
    for (const r of rows) insert.run(params(r));
    return rows.map((r) => r.id);
  };
  const p = FIXTURE.projectId;
  return {
    name: 'raw better-sqlite3',
    role: 'raw',
    statements: {
      get: get.source,
      create: create.source,
      updateRevision: updateRevision.source,
      updateExpected: updateExpected.source,
      list: list.source,
      count: count.source,
    },
    ops: {
      get: async () => {
        const next = cycle(seed(FIXTURE.coldHost, FIXTURE.readRecords));
        return async () => decode(get.get(p, next()) as Record<string, unknown> | undefined);
      },
      create: async () => async () => decode(written(create, params(rawInstance('new', n++)))),
      updateRevision: async () => {
        const records = new RecordPool(
          seed(FIXTURE.coldHost, FIXTURE.updateRecords).map((id) => ({ id, revision: 1 })),
        );
        return () =>
          records.use(async (r) => {
            const row = written(
              updateRevision,
              `vm-${n++}`,
              new Date().toISOString(),
              p,
              r.id,
              r.revision,
            );
            r.revision++;
            return decode(row);
          });
      },
      updateExpected: async () => {
        const records = new RecordPool(
          seed(FIXTURE.coldHost, FIXTURE.updateRecords).map((id) => ({
            id,
            taskState: null as string | null,
          })),
        );
        return () =>
          records.use(async (r) => {
            const next = r.taskState === null ? 'spawning' : null;
            const row = written(
              updateExpected,
              next,
              new Date().toISOString(),
              p,
              r.id,
              r.taskState,
            );
            r.taskState = next;
            return decode(row);
          });
      },
      list: async () => {
        seed(FIXTURE.hotHost, FIXTURE.hotRecords);
        return async () =>
          (list.all(p, FIXTURE.hotHost, FIXTURE.pageSize + 1) as Record<string, unknown>[]).map(
            decode,
          );
      },
      count: async () => async () => count.get(p, FIXTURE.hotHost),
    },
    close: async () => {
      db.close();
    },
  };
}
