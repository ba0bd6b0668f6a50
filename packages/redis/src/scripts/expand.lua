-- One step of adding the elements a resource lacks: a field is recorded; an index or unique
-- constraint gets the entries of every record (live and soft-deleted; unique keys for live
-- ones). The caller repeats the call while the reply is 'more'; no call enters more than
-- `batch` records or looks at more than `batch` keys, so the server is never blocked for
-- long whatever the store's size.
--
-- An expand that adds an index or a unique constraint is recorded in the schema key as
-- 'expand' = { s = 'build' | 'undo', indexes, uniques, fields, pending, part, at, scan }:
--   build  from its first step, every write keeps the new elements too (kept_elements in
--          the prelude); each step enters the next `batch` records of the id index (live
--          partition, then deleted; `part` and `at` the cursor). A live record whose unique
--          key a live record holding the same values has is a clash: both ids go to the
--          set T .. 'expanding:clash' (members '<n>\0<id>', n the constraint's place in
--          uniques). At the end, with no clash, the elements become applied at once.
--   undo   after a clash: writes no longer keep the elements; each step unlinks the keys of
--          the new indexes and constraints found by the next SCAN steps (`scan` the
--          cursor), so nothing of the call stays applied; then the clash is reported.
-- The state lives in the server, so a step cut short (a crash, a timeout) changes nothing
-- and any later call goes on from where the last completed step left; callers asking for
-- the same elements share the work.
--
-- KEYS[1] the schema key. ARGV: T, global '1'/'0', base (the elements JSON recorded when
-- none are), the elements JSON to add, batch.
-- Reply: {'ok'} when the elements asked for are applied | {'more'} | {'violation', the
-- constraint's fields joined by ',', ids...} when a constraint asked for is violated |
-- {'contracting'} when a contract is in progress (the caller finishes it first).
local T, lay = ARGV[1], { g = ARGV[2] == '1' }
local batch = tonumber(ARGV[5])
local applied = schema_load(KEYS[1], ARGV[3])
local ask = cjson.decode(ARGV[4])
local clash_key = T .. 'expanding:clash'

local function index_name(i) return 'i:' .. i.field .. ':' .. i.kind end
local function unique_name(u) return 'u:' .. table.concat(u, ',') end

-- What of the call's elements is not applied yet: indexes, uniques, fields (each once).
local function missing()
  local have = {}
  for _, f in ipairs(applied.fields) do have['f:' .. f] = true end
  for _, i in ipairs(applied.indexes) do have[index_name(i)] = true end
  for _, u in ipairs(applied.uniques) do have[unique_name(u)] = true end
  local out = { indexes = {}, uniques = {}, fields = {} }
  for _, i in ipairs(ask.indexes or {}) do
    if not have[index_name(i)] then
      have[index_name(i)] = true
      out.indexes[#out.indexes + 1] = i
    end
  end
  for _, u in ipairs(ask.uniques or {}) do
    if not have[unique_name(u)] then
      have[unique_name(u)] = true
      out.uniques[#out.uniques + 1] = u
    end
  end
  for _, f in ipairs(ask.fields or {}) do
    if not have['f:' .. f] then
      have['f:' .. f] = true
      out.fields[#out.fields + 1] = f
    end
  end
  return out
end

-- Records fields and pending fields as applied (no entries to make).
local function apply_fields(fields, pending)
  for _, f in ipairs(fields) do applied.fields[#applied.fields + 1] = f end
  applied.pending = pending_after(applied.fields, applied.pending, pending)
end

local function save()
  redis.call('SET', KEYS[1], cjson.encode(applied))
end

-- A contract in progress (contract.lua) finishes first: its steps unlink the keys of the
-- elements it drops, which this expand might be adding again.
if type(applied.contract) == 'table' then return { 'contracting' } end

local x = applied.expand
if type(x) ~= 'table' then
  local m = missing()
  if #m.indexes == 0 and #m.uniques == 0 then
    apply_fields(m.fields, ask.pending)
    save()
    return { 'ok' }
  end
  x = {
    s = 'build', indexes = m.indexes, uniques = m.uniques, fields = m.fields,
    pending = ask.pending or {}, part = 'l', at = '-', scan = '0',
  }
  applied.expand = x
  redis.call('DEL', clash_key)
  -- This step only records the expand: from now on every write keeps its elements.
  save()
  return { 'more' }
end

-- Enters record r (id) in the new elements; notes the clashes of its unique keys.
local function enter(id, r)
  local key = rkey(T, id)
  local p, lv = r.projectId or 'null', r.deletedAt == 'null' and 'l' or 'd'
  for _, i in ipairs(x.indexes) do
    local f = i.field
    if i.kind == 'sort' then
      local tok = token_of(r[f])
      if r['~s:' .. f] ~= tok then index_sort(T, lay, f, id, r['~s:' .. f], p, lv, false) end
      if tok then
        redis.call('HSET', key, '~s:' .. f, tok)
        index_sort(T, lay, f, id, tok, p, lv, true)
      end
    elseif f ~= 'projectId' then
      local v = r[f] or 'null'
      if r['~e:' .. f] and r['~e:' .. f] ~= v then index_eq(T, lay, f, id, r['~e:' .. f], p, lv, false) end
      redis.call('HSET', key, '~e:' .. f, v)
      index_eq(T, lay, f, id, v, p, lv, true)
    end
  end
  if lv ~= 'l' then return end
  for n, u in ipairs(x.uniques) do
    local k = unique_key(T, u, r)
    if k then
      local holder = redis.call('GET', k)
      local h = holder and holder ~= id and load(rkey(T, holder))
      if h and h.deletedAt == 'null' and unique_key(T, u, h) == k then
        redis.call('SADD', clash_key, n .. SEP .. holder, n .. SEP .. id)
      else
        if holder ~= id then redis.call('SET', k, id) end
        redis.call('HSET', key, '~u:' .. table.concat(u, ','), k)
      end
    end
  end
end

-- Whether the call's elements are all applied now (after the expand in progress ended).
local function covered()
  local m = missing()
  return #m.indexes == 0 and #m.uniques == 0 and #m.fields == 0
end

if x.s == 'build' then
  local ids, through = id_walk_step(T, x, batch)
  for _, id in ipairs(ids) do
    local r = load(rkey(T, id))
    if r then enter(id, r) end
  end
  if through and redis.call('EXISTS', clash_key) == 1 then
    x.s = 'undo'
  elseif through then
    -- Every record is entered, and writes kept the entries meanwhile: applied at once.
    for _, i in ipairs(x.indexes) do applied.indexes[#applied.indexes + 1] = i end
    for _, u in ipairs(x.uniques) do applied.uniques[#applied.uniques + 1] = u end
    apply_fields(x.fields, x.pending)
    applied.expand = nil
    save()
    return { covered() and 'ok' or 'more' }
  end
  save()
  return { 'more' }
end

-- Undo: unlink the keys of the new elements, a few SCAN calls per step.
x.scan = unlink_elements_step(T, x.indexes, x.uniques, x.scan, batch)
if x.scan ~= '0' then
  save()
  return { 'more' }
end

-- Undone: report the first constraint (of the expand's) that live records violate, with
-- every id of it, when the call asked for it.
local first, ids = nil, {}
for _, m in ipairs(redis.call('SMEMBERS', clash_key)) do
  local sep = string.find(m, SEP, 1, true)
  local n, id = tonumber(string.sub(m, 1, sep - 1)), string.sub(m, sep + 1)
  if not first or n < first then first, ids = n, {} end
  if n == first then ids[#ids + 1] = id end
end
redis.call('DEL', clash_key)
applied.expand = nil
save()
local violated = first and x.uniques[first]
if violated then
  for _, u in ipairs(ask.uniques or {}) do
    if unique_name(u) == unique_name(violated) then
      return { 'violation', table.concat(violated, ','), unpack(ids) }
    end
  end
end
return { 'more' }
