import { DuplicateError, instanceResource, UnavailableError } from '@polystore/core';
import type { Backend } from '@polystore/core/adapter';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
// The Redis adapter's own layout and scripts: the loader runs its insert on the server.
import { ResourceLayout } from '../../packages/redis/src/layout.js';
import { LUA_SCRIPTS } from '../../packages/redis/src/scripts/lua-sources.js';
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
 * it, in batches; `ANALYZE` before measuring, as autovacuum would.
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
      await client.query('ANALYZE instances');
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

/** Where the body of the Redis adapter's insert script starts, after the prelude definitions. */
const INSERT_BODY = 'local T, lay, id = ARGV[1], cjson.decode(ARGV[2]), ARGV[3]';

/**
 * The Redis loader's script: the adapter's insert script with its body replaced by a loop
 * that calls the same `insert` (prelude.lua) for records `from` to `to - 1`, each the
 * template's public fields with id, host, displayName and hostname computed from `g`; the
 * hidden `~` fields are left to `insert`, which derives them as it does for any record.
 * ARGV: T, layout descriptor, from, to, hot, cold hosts, then the template's field/value pairs.
 */
function redisLoadScript(): string {
  const insert = LUA_SCRIPTS.insert;
  const at = insert.indexOf(INSERT_BODY);
  if (at < 0)
    throw new Error('scale loader: the Redis insert script changed; update redisLoadScript');
  return `${insert.slice(0, at)}
local T, lay = ARGV[1], cjson.decode(ARGV[2])
local from, to, hot, cold = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local schema, floor = schema_and_floor(T)
lay = with_applied(T, lay, schema)
for g = from, to - 1 do
  local id = string.format('00000000-0000-7000-8000-%012x', g)
  local host = g < hot and '${SCALE_HOT}' or ('scale-cold-' .. (g % cold))
  local flat = {}
  for i = 7, #ARGV, 2 do
    local f, v = ARGV[i], ARGV[i + 1]
    if f == 'id' then v = '"' .. id .. '"'
    elseif f == 'host' then v = '"' .. host .. '"'
    elseif f == 'displayName' or f == 'hostname' then v = '"vm-' .. g .. '"' end
    if string.sub(f, 1, 1) ~= '~' then
      flat[#flat + 1] = f
      flat[#flat + 1] = v
    end
  end
  local err = insert(T, lay, id, flat, floor)
  if err then return err end
end
return 'ok'`;
}

/** Records per script call of {@link redisLoader}: Redis serves nothing else while one runs. */
const REDIS_SCRIPT_RECORDS = 2_000;

/**
 * Redis: record 0 through the adapter, then a script that runs the adapter's own `insert`
 * (prelude.lua) in a loop on the server, copying that record's fields, so each record and its
 * index entries are exactly what the adapter writes for a `create`, without a round trip and
 * the client's encoding per record (the client shares the machine's two cores with Redis).
 */
export function redisLoader(backend: Backend, url: string, hot: number): ScaleLoader {
  const redis = new Redis(url.replace(/^(redis:\/\/[^/?]+).*$/, '$1'), { lazyConnect: true });
  const layout = new ResourceLayout(instanceResource, '');
  let sha: string | undefined;
  let base = '';
  let template: string[] = [];
  return {
    method:
      "the adapter's insert (prelude.lua) in a server-side loop, copying a record the adapter wrote",
    step: 20_000,
    async load(from, to) {
      if (sha === undefined) {
        await redis.connect();
        const r = scaleRecord(0, hot);
        await backend.driver(instanceResource).insert(r);
        from = Math.max(from, 1);
        const suffix = `${instanceResource.plural}:r:${r.id}`;
        let cursor = '0';
        let key: string | undefined;
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `*${suffix}`, 'COUNT', 1000);
          key = keys[0];
          cursor = next;
        } while (key === undefined && cursor !== '0');
        if (key === undefined) throw new Error(`scale loader: no Redis key ends with ${suffix}`);
        base = key.slice(0, key.length - `r:${r.id}`.length);
        template = await redis.hgetall(key).then((h) => Object.entries(h).flat());
        sha = (await redis.script('LOAD', redisLoadScript())) as string;
      }
      for (let at = from; at < to; at += REDIS_SCRIPT_RECORDS) {
        const end = Math.min(to, at + REDIS_SCRIPT_RECORDS);
        const reply = await redis.evalsha(
          sha,
          1,
          `${base}versions`,
          base,
          layout.descriptor,
          at,
          end,
          hot,
          SCALE_COLD_HOSTS,
          ...template,
        );
        if (reply !== 'ok') throw new Error(`scale loader: insert refused: ${String(reply)}`);
      }
    },
    // The load grew the append-only file many times over, and Redis rewrites it in a forked
    // child (a copy of a 1.5 GB process at 1M records) that shares the two cores with the
    // measurement: wait until no rewrite (or snapshot) runs or is scheduled.
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
    },
  };
}
