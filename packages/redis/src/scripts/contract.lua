-- One step of dropping the elements a resource has: an index's or unique constraint's keys
-- go (every key of it, stale ones included), and a dropped field's values (with its sort
-- token and equality mark) leave every record, live and soft-deleted; revisions do not
-- move. The caller repeats the call while the reply is 'more'; no call walks more than
-- `batch` records or looks at more than 4 x `batch` keys, so the server is never blocked
-- for long whatever the store's size.
--
-- A contract is recorded in the schema key as
-- 'contract' = { s = 'records' | 'keys', fields, indexes, uniques, part, at, scan }, and its
-- elements leave the applied ones in the first step, at once: from then on no write keeps
-- their entries (kept_elements, with_applied), so no key of theirs appears after that step
-- and the SCAN of the 'keys' state, which returns every key that exists for the whole scan,
-- finds them all. appliedElements (redis-backend.ts) still reports them until the last
-- step, so a contract cut short is seen as not done and called again.
--   records  each step strips the dropped fields from the next `batch` records of the id
--            index (live partition, then deleted; `part` and `at` the cursor);
--   keys     each step unlinks the keys of the dropped indexes and constraints found by the
--            next SCAN steps (`scan` the cursor).
-- Why dropping at the first step is safe: a contract runs only when no live member's code
-- defines the dropped elements and no record is older than the code, so nothing reads or
-- queries them, and a record that still has a dropped field's value while the steps run
-- shows nothing of it: core builds every record it returns from the fields the code
-- defines (ResourceStore.finish in packages/core/src/resource-store.ts) and ignores others.
-- The state lives in the server, so a step cut short changes nothing and any later call
-- (this client's or another's) goes on from where the last completed step left.
--
-- KEYS[1] the schema key. ARGV: T, base (the elements JSON recorded when none are), the
-- elements JSON to drop, batch.
-- Reply: {'ok'} when the elements asked for are dropped | {'more'}.
local T = ARGV[1]
local batch = tonumber(ARGV[4])
local applied = schema_load(KEYS[1], ARGV[2])
local ask = cjson.decode(ARGV[3])

local function index_name(i) return 'i:' .. i.field .. ':' .. i.kind end
local function unique_name(u) return 'u:' .. table.concat(u, ',') end

-- The names of a set of elements (fields, indexes, uniques), each 'f:'/'i:'/'u:'-prefixed.
local function names_of(els)
  local out = {}
  for _, f in ipairs(els.fields or {}) do out['f:' .. f] = true end
  for _, i in ipairs(els.indexes or {}) do out[index_name(i)] = true end
  for _, u in ipairs(els.uniques or {}) do out[unique_name(u)] = true end
  return out
end

local function save()
  redis.call('SET', KEYS[1], cjson.encode(applied))
end

local c = applied.contract
if type(c) ~= 'table' then
  local gone = names_of(ask)
  if next(gone) == nil then
    save()
    return { 'ok' }
  end
  local kept = { fields = {}, indexes = {}, uniques = {} }
  for _, f in ipairs(applied.fields) do
    if not gone['f:' .. f] then kept.fields[#kept.fields + 1] = f end
  end
  for _, i in ipairs(applied.indexes) do
    if not gone[index_name(i)] then kept.indexes[#kept.indexes + 1] = i end
  end
  for _, u in ipairs(applied.uniques) do
    if not gone[unique_name(u)] then kept.uniques[#kept.uniques + 1] = u end
  end
  applied.fields, applied.indexes, applied.uniques = kept.fields, kept.indexes, kept.uniques
  -- The write-only marks of the fields that remain stay with them.
  applied.pending = pending_after(kept.fields, applied.pending)
  -- An expand in progress (expand.lua) goes on: applied.expand is kept as it is.
  c = {
    s = #(ask.fields or {}) > 0 and 'records' or 'keys',
    fields = ask.fields or {}, indexes = ask.indexes or {}, uniques = ask.uniques or {},
    part = 'l', at = '-', scan = '0',
  }
  applied.contract = c
  save()
  return { 'more' }
end

if c.s == 'records' then
  local dropped = {}
  for _, f in ipairs(c.fields) do
    dropped[#dropped + 1] = f
    dropped[#dropped + 1] = '~s:' .. f
    dropped[#dropped + 1] = '~e:' .. f
  end
  local ids, through = id_walk_step(T, c, batch)
  -- A record's stored row may hold a dropped field, at the same revision: it goes too.
  for _, id in ipairs(ids) do
    redis.call('HDEL', rkey(T, id), unpack(dropped))
    redis.call('DEL', wkey(T, id))
  end
  if through then c.s = 'keys' end
  save()
  return { 'more' }
end

-- Keys: unlink those of the dropped indexes and constraints, a few SCAN calls per step.
c.scan = unlink_elements_step(T, c.indexes, c.uniques, c.scan, batch)
if c.scan ~= '0' then
  save()
  return { 'more' }
end

-- Done: the elements were dropped from the applied ones in the first step; now they are gone.
applied.contract = nil
save()
local did = names_of(c)
for name in pairs(names_of(ask)) do
  -- Another call's contract was finished first: this call's own begins at the next step.
  if not did[name] then return { 'more' } end
end
return { 'ok' }
