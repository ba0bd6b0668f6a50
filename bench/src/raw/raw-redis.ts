import { Redis } from 'ioredis';
import { FIXTURE } from '../fixture.js';
import type { Subject } from '../operation.js';
import { cycle, RecordPool } from '../record-pool.js';
import { type RawInstance, rawInstance } from './raw-record.js';

// Record: JSON at raw:i:<id>. Indexes, as a careful hand-written client keeps them:
// raw:host:<project>:<host> (zset of ids), raw:name:<project> (zset "name\0id"),
// raw:task:<project>:<state> (set of ids).

const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('DUPLICATE') end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
redis.call('ZADD', KEYS[3], 0, ARGV[3] .. '\\0' .. ARGV[2])
redis.call('SADD', KEYS[4], ARGV[2])
return 1`;

const UPDATE_NAME = `
local raw = redis.call('GET', KEYS[1])
if not raw then return redis.error_reply('NOTFOUND') end
local r = cjson.decode(raw)
if r.projectId ~= ARGV[1] or r.deletedAt ~= cjson.null then return redis.error_reply('NOTFOUND') end
if r.revision ~= tonumber(ARGV[2]) then return redis.error_reply('CONFLICT') end
redis.call('ZREM', KEYS[2], r.displayName .. '\\0' .. r.id)
r.displayName = ARGV[3]
r.revision = r.revision + 1
r.updatedAt = ARGV[4]
redis.call('ZADD', KEYS[2], 0, r.displayName .. '\\0' .. r.id)
local out = cjson.encode(r)
redis.call('SET', KEYS[1], out)
return out`;

const UPDATE_TASK = `
local raw = redis.call('GET', KEYS[1])
if not raw then return redis.error_reply('NOTFOUND') end
local r = cjson.decode(raw)
if r.projectId ~= ARGV[1] or r.deletedAt ~= cjson.null then return redis.error_reply('NOTFOUND') end
local cur = r.taskState
if cur == cjson.null then cur = '' end
if cur ~= ARGV[2] then return redis.error_reply('CONFLICT') end
redis.call('SREM', KEYS[2], r.id)
if ARGV[3] == '' then r.taskState = cjson.null else r.taskState = ARGV[3] end
r.revision = r.revision + 1
r.updatedAt = ARGV[4]
redis.call('SADD', KEYS[3], r.id)
local out = cjson.encode(r)
redis.call('SET', KEYS[1], out)
return out`;

const LIST = `
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local out = {}
for i, id in ipairs(ids) do out[i] = redis.call('GET', ARGV[2] .. id) end
return out`;

/**
 * The raw Redis baseline: one Lua script (EVALSHA) per write with the same checks, a
 * `GET` per read, a script per list page, `ZCARD` per count; records as JSON.
 */
export async function rawRedis(url: string): Promise<Subject> {
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  const load = async (lua: string) => (await redis.script('LOAD', lua)) as string;
  const [create, updateName, updateTask, list] = await Promise.all(
    [CREATE, UPDATE_NAME, UPDATE_TASK, LIST].map(load),
  );
  const p = FIXTURE.projectId;
  const key = (id: string) => `raw:i:${id}`;
  const hostKey = (host: string | null) => `raw:host:${p}:${host ?? ''}`;
  const nameKey = `raw:name:${p}`;
  const taskKey = (state: string | null) => `raw:task:${p}:${state ?? ''}`;
  const insert = (r: RawInstance) =>
    redis.evalsha(
      create as string,
      4,
      key(r.id),
      hostKey(r.host),
      nameKey,
      taskKey(r.taskState),
      JSON.stringify(r),
      r.id,
      r.displayName,
    );
  let n = 0;
  const seed = async (host: string, k: number) => {
    const rows = Array.from({ length: k }, () => rawInstance(host, n++));
    for (const r of rows) await insert(r);
    return rows.map((r) => r.id);
  };
  return {
    name: 'raw ioredis',
    role: 'raw',
    ops: {
      get: async () => {
        const next = cycle(await seed(FIXTURE.coldHost, FIXTURE.readRecords));
        return async () => {
          const raw = await redis.get(key(next()));
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
            const out = await redis.evalsha(
              updateName as string,
              2,
              key(r.id),
              nameKey,
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
            const out = await redis.evalsha(
              updateTask as string,
              3,
              key(r.id),
              taskKey(r.taskState),
              taskKey(next),
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
            (await redis.evalsha(
              list as string,
              1,
              hostKey(FIXTURE.hotHost),
              FIXTURE.pageSize + 1,
              'raw:i:',
            )) as string[]
          ).map((s) => JSON.parse(s));
      },
      count: async () => () => redis.zcard(hostKey(FIXTURE.hotHost)),
    },
    close: async () => {
      redis.disconnect();
    },
  };
}
