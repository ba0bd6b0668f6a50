import { Redis } from 'ioredis';
import { FIXTURE } from '../fixture.js';
import type { Subject } from '../operation.js';
import { cycle, RecordPool } from '../record-pool.js';
import { type RawInstance, rawInstance } from './raw-record.js';

// The same indexes polystore's Redis layout keeps for instances, written as a careful
// hand-written client would, in the cheapest form that still allows atomic conditional
// updates in one script: the record as one JSON string at raw:i:<id>; per partition (all
// projects `*`, which cross-project listing needs, and the record's project) a sorted set
// "<value>\0<id>" for each sortable field (id, createdAt, updatedAt, displayName,
// hostname) and a sorted set of ids for each equality field (host, vmState, taskState), so a
// filtered page is a range walk in id order; the ids of each object version and the set of
// versions. A create makes 19 writes, as polystore's does; an update moves the changed
// fields' entries and updatedAt's in both partitions and checks project, liveness and the
// revision / expected value.

// Shared Lua: the index keys of a record and how to add or remove its entries.
const PRELUDE = `
local SEP = '\\0'
local SORT = { 'id', 'createdAt', 'updatedAt', 'displayName', 'hostname' }
local EQ = { 'host', 'vmState', 'taskState' }
local function val(v) if v == cjson.null or v == nil then return '' end return tostring(v) end
local function parts(r) return { '*', r.projectId } end
local function sort_entry(r, f, add)
  for _, part in ipairs(parts(r)) do
    local k = 'raw:z:' .. f .. ':' .. part
    if add then redis.call('ZADD', k, 0, val(r[f]) .. SEP .. r.id)
    else redis.call('ZREM', k, val(r[f]) .. SEP .. r.id) end
  end
end
local function eq_entry(r, f, add)
  for _, part in ipairs(parts(r)) do
    local k = 'raw:e:' .. f .. ':' .. part .. ':' .. val(r[f])
    if add then redis.call('ZADD', k, 0, r.id) else redis.call('ZREM', k, r.id) end
  end
end
local function live(r, project)
  return r.projectId == project and r.deletedAt == cjson.null
end
`;

const CREATE = `${PRELUDE}
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('DUPLICATE') end
local r = cjson.decode(ARGV[1])
redis.call('SET', KEYS[1], ARGV[1])
for _, f in ipairs(SORT) do sort_entry(r, f, true) end
for _, f in ipairs(EQ) do eq_entry(r, f, true) end
redis.call('SADD', 'raw:v:' .. r.objectVersion, r.id)
redis.call('SADD', 'raw:versions', r.objectVersion)
return ARGV[1]`;

const UPDATE_NAME = `${PRELUDE}
local raw = redis.call('GET', KEYS[1])
if not raw then return redis.error_reply('NOTFOUND') end
local r = cjson.decode(raw)
if not live(r, ARGV[1]) then return redis.error_reply('NOTFOUND') end
if r.revision ~= tonumber(ARGV[2]) then return redis.error_reply('CONFLICT') end
sort_entry(r, 'displayName', false)
sort_entry(r, 'updatedAt', false)
r.displayName = ARGV[3]
r.revision = r.revision + 1
r.updatedAt = ARGV[4]
sort_entry(r, 'displayName', true)
sort_entry(r, 'updatedAt', true)
local out = cjson.encode(r)
redis.call('SET', KEYS[1], out)
return out`;

const UPDATE_TASK = `${PRELUDE}
local raw = redis.call('GET', KEYS[1])
if not raw then return redis.error_reply('NOTFOUND') end
local r = cjson.decode(raw)
if not live(r, ARGV[1]) then return redis.error_reply('NOTFOUND') end
if val(r.taskState) ~= ARGV[2] then return redis.error_reply('CONFLICT') end
eq_entry(r, 'taskState', false)
sort_entry(r, 'updatedAt', false)
if ARGV[3] == '' then r.taskState = cjson.null else r.taskState = ARGV[3] end
r.revision = r.revision + 1
r.updatedAt = ARGV[4]
eq_entry(r, 'taskState', true)
sort_entry(r, 'updatedAt', true)
local out = cjson.encode(r)
redis.call('SET', KEYS[1], out)
return out`;

const LIST = `
local ids = redis.call('ZRANGE', KEYS[1], '-', '+', 'BYLEX', 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for i, id in ipairs(ids) do out[i] = redis.call('GET', ARGV[2] .. id) end
return out`;

/**
 * The raw Redis baseline: one Lua script (EVALSHA) per write with the same checks and index
 * maintenance as polystore's, a `GET` per read (project and liveness checked by the client),
 * a script per list page (a range walk of the host index in id order), `ZCARD` of the host
 * index per count; records as JSON.
 *
 * `batched` makes it the floor: of the plain commands (`GET`, `ZCARD`) issued in one
 * tick, the first goes at once and the rest leave in one write (the socket corked until
 * the tick ends), as polystore's connection sends them; scripts go at once, as
 * polystore's do. Its keys are under `rawb:`, so the two baselines share a server without
 * sharing records. (ioredis's own `enableAutoPipelining` batches every command and costs
 * more per command: measured here, it lowered script throughput below the unbatched
 * client's.)
 */
export async function rawRedis(url: string, batched = false): Promise<Subject> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  let sent = false;
  let corked = false;
  /**
   * The client; when batching, the first plain command of a tick goes at once and the
   * socket holds the rest until the tick ends.
   */
  const redis = (): Redis => {
    if (!batched || corked) return client;
    if (!sent) {
      sent = true;
      process.nextTick(() => {
        sent = false;
        if (corked) {
          corked = false;
          client.stream.uncork();
        }
      });
      return client;
    }
    client.stream.cork();
    corked = true;
    return client;
  };
  const prefix = batched ? 'rawb:' : 'raw:';
  const load = async (lua: string) =>
    (await client.script('LOAD', lua.replaceAll("'raw:", `'${prefix}`))) as string;
  const [create, updateName, updateTask, list] = await Promise.all(
    [CREATE, UPDATE_NAME, UPDATE_TASK, LIST].map(load),
  );
  const p = FIXTURE.projectId;
  const key = (id: string) => `${prefix}i:${id}`;
  const hostKey = (host: string | null) => `${prefix}e:host:${p}:${host ?? ''}`;
  // The scripts name their index keys themselves (as polystore's do); one Redis, no cluster.
  const insert = async (r: RawInstance) =>
    JSON.parse((await client.evalsha(create as string, 1, key(r.id), JSON.stringify(r))) as string);
  let n = 0;
  const seed = async (host: string, k: number) => {
    const rows = Array.from({ length: k }, () => rawInstance(host, n++));
    for (const r of rows) await insert(r);
    return rows.map((r) => r.id);
  };
  return {
    name: batched ? 'raw ioredis (batched writes)' : 'raw ioredis',
    role: 'raw',
    ...(batched ? { floor: true } : {}),
    statements: {
      get: `GET ${prefix}i:<id>, project and liveness checked in the client`,
      create:
        'EVALSHA: EXISTS, SET JSON, ZADD to 5 sorted indexes × 2 partitions, ZADD to 3 equality indexes × 2 partitions, SADD version and versions (19 writes)',
      updateRevision:
        'EVALSHA: GET, project, liveness and revision checked, ZREM+ZADD displayName and updatedAt × 2 partitions, SET JSON',
      updateExpected:
        'EVALSHA: GET, project, liveness and taskState checked, ZREM+ZADD taskState and updatedAt × 2 partitions, SET JSON',
      list: 'EVALSHA: ZRANGE BYLEX LIMIT 51 of the project host index, GET each',
      count: 'ZCARD of the project host index',
    },
    ops: {
      get: async () => {
        const next = cycle(await seed(FIXTURE.coldHost, FIXTURE.readRecords));
        return async () => {
          const raw = await redis().get(key(next()));
          if (raw === null) throw new Error('not found');
          const r = JSON.parse(raw) as RawInstance;
          if (r.projectId !== p || r.deletedAt !== null) throw new Error('not found');
          return r;
        };
      },
      create: async () => () => insert(rawInstance('new', n++)),
      updateRevision: async () => {
        const records = new RecordPool(
          (await seed(FIXTURE.coldHost, FIXTURE.updateRecords)).map((id) => ({ id, revision: 1 })),
        );
        return () =>
          records.use(async (r) => {
            const out = await client.evalsha(
              updateName as string,
              1,
              key(r.id),
              p,
              r.revision,
              `vm-${n++}`,
              new Date().toISOString(),
            );
            r.revision++;
            return JSON.parse(out as string);
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
            const out = await client.evalsha(
              updateTask as string,
              1,
              key(r.id),
              p,
              r.taskState ?? '',
              next ?? '',
              new Date().toISOString(),
            );
            r.taskState = next;
            return JSON.parse(out as string);
          });
      },
      list: async () => {
        await seed(FIXTURE.hotHost, FIXTURE.hotRecords);
        return async () =>
          (
            (await client.evalsha(
              list as string,
              1,
              hostKey(FIXTURE.hotHost),
              FIXTURE.pageSize + 1,
              `${prefix}i:`,
            )) as string[]
          ).map((s) => JSON.parse(s));
      },
      count: async () => () => redis().zcard(hostKey(FIXTURE.hotHost)),
    },
    close: async () => {
      client.disconnect();
    },
  };
}
