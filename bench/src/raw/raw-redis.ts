import { Redis } from 'ioredis';
import { FIXTURE } from '../fixture.js';
import type { Subject } from '../operation.js';
import { cycle, RecordPool } from '../record-pool.js';
import { type RawInstance, rawInstance } from './raw-record.js';

// The same indexes polystore's Redis layout keeps for instances, written as a careful
// hand-written client would, in the cheapest form that still allows atomic conditional
// updates in one script and keeps every value exactly: the record as one string at
// raw:i:<id>, the JSON texts of its fields (FIELDS, in that order) joined by '\n,' in
// brackets, a JSON array the client reads with one JSON.parse and a script splits with a
// plain search ('\n,' is in no JSON.stringify text: a newline in a string is escaped). Per
// partition (all projects `*`, which cross-project listing needs, and the record's project)
// a sorted set "<value>\0<id>" for each sortable field (id, createdAt, updatedAt,
// displayName, hostname) and a sorted set of ids for each equality field (host, vmState,
// taskState), so a filtered page is a range walk in id order; the ids of each object
// version and the set of versions. A create makes 19 writes, as polystore's does; an update
// moves the changed fields' entries and updatedAt's in both partitions and checks project,
// liveness and the revision / expected value.
//
// Not cjson: a script that decodes a record with Redis's cjson and encodes it again keeps
// 14 significant digits of a number and writes an empty array as `{}`
// (0.1234567890123456789 comes back 0.12345678901235, 12345678901234567 as
// 1.2345678901235e+16), so it would change records polystore keeps exactly. Measured against
// the cjson form on one server (8 shuffled rounds of 1,500 calls, 2026-12-02), server µs per
// call: revision-checked update 36.4 against 34.9, expected-value update 39.7 against 39.7,
// create 139.6 against 147.4, list page 58.0 against 73.9 (its client CPU 141 against 192 µs:
// an array of texts is read faster than an object).

/** The fields of a raw record, in the order of its stored string (rawInstance's). */
const FIELDS = Object.keys(rawInstance('', 0)) as (keyof RawInstance)[];
/** A field's position in the stored string, from 1 (Lua's). */
const AT = Object.fromEntries(FIELDS.map((f, i) => [f, i + 1])) as Record<
  keyof RawInstance,
  number
>;

/** A record as stored: its fields' JSON texts joined by '\n,', in brackets. */
const stored = (r: RawInstance) => `[${FIELDS.map((f) => JSON.stringify(r[f])).join('\n,')}]`;

/** A stored record as an object. */
function parsed(text: string): RawInstance {
  const v = JSON.parse(text) as unknown[];
  const r: Record<string, unknown> = {};
  for (let i = 0; i < FIELDS.length; i++) r[FIELDS[i]!] = v[i];
  return r as RawInstance;
}

// Shared Lua: a stored record's field texts, a text's index value, and how to add or remove
// a record's entries.
const PRELUDE = `
local SEP = '\\0'
local SORT = { id = ${AT.id}, createdAt = ${AT.createdAt}, updatedAt = ${AT.updatedAt}, displayName = ${AT.displayName}, hostname = ${AT.hostname} }
local EQ = { host = ${AT.host}, vmState = ${AT.vmState}, taskState = ${AT.taskState} }
local function split(s)
  local t, i, n = {}, 2, 0
  while true do
    local j = string.find(s, '\\n,', i, true)
    n = n + 1
    if not j then
      t[n] = string.sub(s, i, -2)
      return t
    end
    t[n] = string.sub(s, i, j - 1)
    i = j + 2
  end
end
local function val(text) if text == 'null' then return '' end return cjson.decode(text) end
local function sort_entry(t, f, add)
  local id, m = val(t[${AT.id}]), val(t[SORT[f]])
  for _, part in ipairs({ '*', val(t[${AT.projectId}]) }) do
    local k = 'raw:z:' .. f .. ':' .. part
    if add then redis.call('ZADD', k, 0, m .. SEP .. id)
    else redis.call('ZREM', k, m .. SEP .. id) end
  end
end
local function eq_entry(t, f, add)
  local id, v = val(t[${AT.id}]), val(t[EQ[f]])
  for _, part in ipairs({ '*', val(t[${AT.projectId}]) }) do
    local k = 'raw:e:' .. f .. ':' .. part .. ':' .. v
    if add then redis.call('ZADD', k, 0, id) else redis.call('ZREM', k, id) end
  end
end
local function live(t, project)
  return t[${AT.projectId}] == project and t[${AT.deletedAt}] == 'null'
end
`;

const CREATE = `${PRELUDE}
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('DUPLICATE') end
local t = split(ARGV[1])
redis.call('SET', KEYS[1], ARGV[1])
for f in pairs(SORT) do sort_entry(t, f, true) end
for f in pairs(EQ) do eq_entry(t, f, true) end
local v = val(t[${AT.objectVersion}])
redis.call('SADD', 'raw:v:' .. v, val(t[${AT.id}]))
redis.call('SADD', 'raw:versions', v)
return ARGV[1]`;

// An update's start: the record at KEYS[1] as its field texts `t`, live in the project
// ARGV[1] (its JSON text), or NOTFOUND.
const READ_LIVE = `
local s = redis.call('GET', KEYS[1])
if not s then return redis.error_reply('NOTFOUND') end
local t = split(s)
if not live(t, ARGV[1]) then return redis.error_reply('NOTFOUND') end
`;

// An update's end: the field texts `t` joined and stored, and returned.
const WRITE_BACK = `local out = '[' .. table.concat(t, '\\n,') .. ']'
redis.call('SET', KEYS[1], out)
return out`;

// ARGV: the project's JSON text, the expected revision, the new displayName's and
// updatedAt's JSON texts.
const UPDATE_NAME = `${PRELUDE}
${READ_LIVE}if t[${AT.revision}] ~= ARGV[2] then return redis.error_reply('CONFLICT') end
sort_entry(t, 'displayName', false)
sort_entry(t, 'updatedAt', false)
t[${AT.displayName}] = ARGV[3]
t[${AT.revision}] = string.format('%d', tonumber(ARGV[2]) + 1)
t[${AT.updatedAt}] = ARGV[4]
sort_entry(t, 'displayName', true)
sort_entry(t, 'updatedAt', true)
${WRITE_BACK}`;

// ARGV: the project's JSON text, the expected and the new taskState's JSON texts,
// updatedAt's JSON text.
const UPDATE_TASK = `${PRELUDE}
${READ_LIVE}if t[${AT.taskState}] ~= ARGV[2] then return redis.error_reply('CONFLICT') end
eq_entry(t, 'taskState', false)
sort_entry(t, 'updatedAt', false)
t[${AT.taskState}] = ARGV[3]
t[${AT.revision}] = string.format('%d', tonumber(t[${AT.revision}]) + 1)
t[${AT.updatedAt}] = ARGV[4]
eq_entry(t, 'taskState', true)
sort_entry(t, 'updatedAt', true)
${WRITE_BACK}`;

const LIST = `
local ids = redis.call('ZRANGE', KEYS[1], '-', '+', 'BYLEX', 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for i, id in ipairs(ids) do out[i] = redis.call('GET', ARGV[2] .. id) end
return out`;

/**
 * The raw Redis baseline: one Lua script (EVALSHA) per write with the same checks and index
 * maintenance as polystore's, a `GET` per read (project and liveness checked by the client),
 * a script per list page (a range walk of the host index in id order), `ZCARD` of the host
 * index per count; each record one string of its fields' JSON texts (see FIELDS).
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
  const pText = JSON.stringify(p);
  const key = (id: string) => `${prefix}i:${id}`;
  const hostKey = (host: string | null) => `${prefix}e:host:${p}:${host ?? ''}`;
  // The scripts name their index keys themselves (as polystore's do); one Redis, no cluster.
  const insert = async (r: RawInstance) =>
    parsed((await client.evalsha(create as string, 1, key(r.id), stored(r))) as string);
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
        "EVALSHA: EXISTS, SET the record (its fields' JSON texts, exact), ZADD to 5 sorted indexes × 2 partitions, ZADD to 3 equality indexes × 2 partitions, SADD version and versions (19 writes)",
      updateRevision:
        'EVALSHA: GET, project, liveness and revision checked, ZREM+ZADD displayName and updatedAt × 2 partitions, SET the record',
      updateExpected:
        'EVALSHA: GET, project, liveness and taskState checked, ZREM+ZADD taskState and updatedAt × 2 partitions, SET the record',
      list: 'EVALSHA: ZRANGE BYLEX LIMIT 51 of the project host index, GET each',
      count: 'ZCARD of the project host index',
    },
    ops: {
      get: async () => {
        const next = cycle(await seed(FIXTURE.coldHost, FIXTURE.readRecords));
        return async () => {
          const raw = await redis().get(key(next()));
          if (raw === null) throw new Error('not found');
          const r = parsed(raw);
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
              pText,
              String(r.revision),
              JSON.stringify(`vm-${n++}`),
              JSON.stringify(new Date().toISOString()),
            );
            r.revision++;
            return parsed(out as string);
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
              pText,
              JSON.stringify(r.taskState),
              JSON.stringify(next),
              JSON.stringify(new Date().toISOString()),
            );
            r.taskState = next;
            return parsed(out as string);
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
          ).map(parsed);
      },
      count: async () => () => redis().zcard(hostKey(FIXTURE.hotHost)),
    },
    close: async () => {
      client.disconnect();
    },
  };
}
