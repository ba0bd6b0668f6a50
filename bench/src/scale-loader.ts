import { DuplicateError, instanceResource, UnavailableError } from '@polystore/core';
import type { Backend } from '@polystore/core/adapter';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { SCALE_COLD_HOSTS, SCALE_HOT, SCALE_PROJECT, scaleRecord } from './scale-record.js';

/** Puts the scale test's records into a backend. */
export interface ScaleLoader {
  /** How the records get in, for the report. */
  readonly method: string;
  /** Records per `load` call between budget checks. */
  readonly step: number;
  /** Adds records `from` to `to - 1`. */
  load(from: number, to: number): Promise<void>;
  /** Whatever a loaded database does anyway (statistics), before measuring. */
  settle(): Promise<void>;
  /** Releases its connections. */
  close(): Promise<void>;
}

/**
 * Through the adapter's own `insert` (the driver SPI, below core's validation), many in
 * flight: the records are exactly what the adapter writes for a `create`. For backends
 * without a bulk path of their own.
 */
export function driverLoader(backend: Backend, hot: number, inFlight: number): ScaleLoader {
  const driver = backend.driver(instanceResource);
  // A timed-out insert may have been applied: try again, and take a duplicate id as done.
  const insert = async (n: number) => {
    const record = scaleRecord(n, hot);
    for (let attempt = 1; ; attempt++) {
      try {
        await driver.insert(record);
        return;
      } catch (err) {
        if (err instanceof DuplicateError && attempt > 1) return;
        if (!(err instanceof UnavailableError) || attempt >= 5) throw err;
      }
    }
  };
  return {
    method: `adapter insert (driver SPI), ${inFlight} in flight`,
    step: 10_000,
    async load(from, to) {
      let next = from;
      const worker = async () => {
        while (next < to) await insert(next++);
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
    },
    settle: async () => {},
    close: async () => {},
  };
}

/** The id of generated record `g`: a well-formed UUID (version 7 layout). */
const PG_ID = `'00000000-0000-7000-8000-' || lpad(to_hex(g), 12, '0')`;
const SQLITE_ID = `printf('00000000-0000-7000-8000-%012x', g)`;

/**
 * The SELECT list copying a template row of the adapter's own table, with the columns that
 * differ per record computed from `g`: every other column (JSON, system fields, anything the
 * layout adds) is the adapter's own encoding.
 */
function selectList(columns: readonly string[], id: string, hot: string): string {
  return columns
    .map((c) => {
      switch (c) {
        case 'id':
          return id;
        case 'host':
          return `CASE WHEN g < ${hot} THEN '${SCALE_HOT}' ELSE 'scale-cold-' || (g % ${SCALE_COLD_HOSTS}) END`;
        case 'display_name':
        case 'hostname':
          return `'vm-' || g`;
        default:
          return `t."${c}"`;
      }
    })
    .join(', ');
}

/**
 * PostgreSQL: record 0 through the adapter, then `INSERT … SELECT … generate_series` copying
 * it, in batches; `VACUUM ANALYZE` before measuring, as autovacuum does after that many
 * inserts (PostgreSQL 13 and later). Measured right after the load instead, the size
 * measured races autovacuum: on the Intel VM, with `ANALYZE` only, count at 1M was 4.35×
 * its cost at 10k (heap visits for rows not yet marked all-visible) and list 2.20×.
 */
export function postgresLoader(backend: Backend, url: string, hot: number): ScaleLoader {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  const connected = client.connect();
  let template: string | undefined;
  let columns: string[] = [];
  return {
    method: 'INSERT … SELECT generate_series, copying a row the adapter wrote',
    step: 100_000,
    async load(from, to) {
      await connected;
      if (template === undefined) {
        const r = scaleRecord(0, hot);
        await backend.driver(instanceResource).insert(r);
        template = r.id;
        from = Math.max(from, 1);
        const { rows } = await client.query(
          `SELECT column_name FROM information_schema.columns WHERE table_name = 'instances' ORDER BY ordinal_position`,
        );
        columns = rows.map((x: { column_name: string }) => x.column_name);
      }
      if (from >= to) return;
      await client.query(
        `INSERT INTO instances (${columns.map((c) => `"${c}"`).join(', ')})
         SELECT ${selectList(columns, PG_ID, '$3')} FROM instances t CROSS JOIN generate_series($1::int, $2::int) g
         WHERE t.id = $4 AND t.project_id = '${SCALE_PROJECT}'`,
        [from, to - 1, hot, template],
      );
    },
    settle: async () => {
      await client.query('VACUUM ANALYZE instances');
    },
    close: () => client.end(),
  };
}

/** SQLite: the same as {@link postgresLoader}, with a recursive CTE, on a second connection. */
export function sqliteLoader(backend: Backend, path: string, hot: number): ScaleLoader {
  const db = new Database(path, { timeout: 30_000 });
  let template: string | undefined;
  let columns: string[] = [];
  return {
    method: 'INSERT … SELECT from a recursive CTE, copying a row the adapter wrote',
    step: 100_000,
    async load(from, to) {
      if (template === undefined) {
        const r = scaleRecord(0, hot);
        await backend.driver(instanceResource).insert(r);
        template = r.id;
        from = Math.max(from, 1);
        columns = (db.pragma('table_info(instances)') as { name: string }[]).map((c) => c.name);
      }
      if (from >= to) return;
      db.prepare(
        `INSERT INTO instances (${columns.map((c) => `"${c}"`).join(', ')})
         WITH RECURSIVE s(g) AS (SELECT ? UNION ALL SELECT g + 1 FROM s WHERE g < ?)
         SELECT ${selectList(columns, SQLITE_ID, String(hot))} FROM instances t CROSS JOIN s
         WHERE t.id = ?`,
      ).run(from, to - 1, template);
    },
    settle: async () => {
      db.exec('ANALYZE');
    },
    close: async () => {
      db.close();
    },
  };
}

/**
 * Redis: the adapter's own `insert` ({@link driverLoader}, 128 in flight), and before each
 * measurement a wait until Redis rewrites no append-only file. The bench's server makes no
 * automatic rewrite while the operations are measured (targets.ts); the load turns Redis's
 * default back on first, since a million inserts grow the file to about 4 GB (3.7 KB each,
 * measured) where rewrites keep it near the data's size. A rewrite runs in a forked child (a
 * copy of a 1.5 GB process at 1M records) that would share the two cores with the
 * measurement, hence the wait.
 */
export function redisLoader(backend: Backend, url: string, hot: number): ScaleLoader {
  const loader = driverLoader(backend, hot, 128);
  const redis = new Redis(url.replace(/^(redis:\/\/[^/?]+).*$/, '$1'), { lazyConnect: true });
  let rewrites: Promise<unknown> | undefined;
  return {
    ...loader,
    load: async (from, to) => {
      rewrites ??= redis.config('SET', 'auto-aof-rewrite-percentage', '100');
      await rewrites;
      await loader.load(from, to);
    },
    settle: async () => {
      const deadline = performance.now() + 300_000;
      while (performance.now() < deadline) {
        const info = await redis.info('persistence');
        if (
          !/^(aof_rewrite_in_progress|aof_rewrite_scheduled|rdb_bgsave_in_progress):1/m.test(info)
        )
          return;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    close: async () => {
      redis.disconnect();
      await loader.close();
    },
  };
}
