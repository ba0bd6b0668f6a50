-- Replaces one whole record (any project, live or soft-deleted) if it is at the expected
-- revision, and makes every index and unique entry of it match the new record: those of
-- the caller's layout and those the schema key records as applied. Entries under the old
-- values, under the values expand or an earlier rewrite entered ('~e:' and '~u:' fields)
-- and in either liveness are removed first, so entries an older or newer client left stale
-- go. A unique key held by a live record that still holds those values is a clash; one
-- whose holder is gone, deleted or holds other values is stale and taken over.
-- KEYS[1] the record key. ARGV: T, layout, schema key, id, expected revision, then the new
-- record hash as field/value pairs (with the sort tokens of the layout's fields).
-- Reply: {'ok', record} | {'not-found'} | {'conflict', record} | {'duplicate', 'f1,f2'}.
local T, lay, id = ARGV[1], cjson.decode(ARGV[2]), ARGV[4]
local key = KEYS[1]
local r = load(key)
if not r then return { 'not-found' } end
if r.revision ~= ARGV[5] then return { 'conflict', flatten(r) } end
local flat = {}
for i = 6, #ARGV do flat[#flat + 1] = ARGV[i] end
local n = {}
for i = 1, #flat, 2 do n[flat[i]] = flat[i + 1] end

-- Every element: the layout's and the applied ones.
local sorts, eqs, uniques, seen = {}, {}, {}, {}
local function add(list, name, v)
  if not seen[name] then
    seen[name] = true
    list[#list + 1] = v
  end
end
for _, f in ipairs(lay.s) do add(sorts, 's:' .. f, f) end
for _, f in ipairs(lay.e) do add(eqs, 'e:' .. f, f) end
for _, u in ipairs(lay.u) do add(uniques, 'u:' .. table.concat(u, ','), u) end
local text = redis.call('GET', ARGV[3])
if text then
  local applied = cjson.decode(text)
  for _, i in ipairs(applied.indexes or {}) do
    if i.kind == 'sort' then
      add(sorts, 's:' .. i.field, i.field)
    elseif i.field ~= 'projectId' then
      add(eqs, 'e:' .. i.field, i.field)
    end
  end
  for _, u in ipairs(applied.uniques or {}) do add(uniques, 'u:' .. table.concat(u, ','), u) end
end

local live = (n.deletedAt or 'null') == 'null'
if live then
  for _, u in ipairs(uniques) do
    local k = unique_key(T, u, n)
    local holder = k and redis.call('GET', k)
    if holder and holder ~= id then
      local h = load(rkey(T, holder))
      if h and h.deletedAt == 'null' and unique_key(T, u, h) == k then
        return { 'duplicate', table.concat(u, ',') }
      end
    end
  end
end

-- Remove every entry the old record may have, in both livenesses.
local p = r.projectId or 'null'
for _, lv in ipairs({ 'l', 'd' }) do
  for _, f in ipairs(sorts) do
    index_sort(T, lay, f, id, r['~s:' .. f], p, lv, false)
    index_sort(T, lay, f, id, token_of(r[f]), p, lv, false)
  end
  for _, f in ipairs(eqs) do
    index_eq(T, lay, f, id, r[f] or 'null', p, lv, false)
    if r['~e:' .. f] then index_eq(T, lay, f, id, r['~e:' .. f], p, lv, false) end
  end
end
for _, u in ipairs(uniques) do
  for _, k in ipairs({ unique_key(T, u, r), r['~u:' .. table.concat(u, ',')] or false }) do
    if k and redis.call('GET', k) == id then redis.call('DEL', k) end
  end
end
if (r.deletedAt or 'null') ~= 'null' then redis.call('ZREM', T .. 'deleted', deleted_member(r, id)) end
if r.objectVersion then version_rem(T, r.objectVersion, id) end

-- Store the new record and enter it in every element.
redis.call('DEL', key)
redis.call('HSET', key, unpack(flat))
local np, lv = n.projectId or 'null', live and 'l' or 'd'
for _, f in ipairs(sorts) do
  local tok = n['~s:' .. f] or token_of(n[f])
  if tok then
    n['~s:' .. f] = tok
    redis.call('HSET', key, '~s:' .. f, tok)
    index_sort(T, lay, f, id, tok, np, lv, true)
  end
end
for _, f in ipairs(eqs) do
  local v = n[f] or 'null'
  n['~e:' .. f] = v
  redis.call('HSET', key, '~e:' .. f, v)
  index_eq(T, lay, f, id, v, np, lv, true)
end
if live then
  for _, u in ipairs(uniques) do
    local k = unique_key(T, u, n)
    if k then
      redis.call('SET', k, id)
      redis.call('HSET', key, '~u:' .. table.concat(u, ','), k)
    end
  end
else
  redis.call('ZADD', T .. 'deleted', 0, deleted_member(n, id))
end
version_add(T, n.objectVersion, id)
return { 'ok', flatten(n) }
