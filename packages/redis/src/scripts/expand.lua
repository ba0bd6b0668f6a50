-- Adds the elements a resource lacks: a field is recorded; an index or unique constraint
-- gets the entries of every record (live and soft-deleted; unique keys for live ones).
-- A unique constraint that live records violate refuses the whole call, changing nothing.
-- The fields the elements name as pending are recorded write-only (added or applied before).
-- KEYS[1] the schema key. ARGV: T, global '1'/'0', base (the elements JSON recorded when
-- none are), the elements JSON to add.
-- Reply: {'ok'} | {'violation', constraint number (1-based, among the elements), ids...}.
local T, lay = ARGV[1], { g = ARGV[2] == '1' }
local applied = schema_load(KEYS[1], ARGV[3])
local add = cjson.decode(ARGV[4])
local have = {}
for _, f in ipairs(applied.fields) do have['f:' .. f] = true end
for _, i in ipairs(applied.indexes) do have['i:' .. i.field .. ':' .. i.kind] = true end
for _, u in ipairs(applied.uniques) do have['u:' .. table.concat(u, ',')] = true end

local indexes, uniques = {}, {}
for _, i in ipairs(add.indexes or {}) do
  if not have['i:' .. i.field .. ':' .. i.kind] then
    have['i:' .. i.field .. ':' .. i.kind] = true
    indexes[#indexes + 1] = i
    applied.indexes[#applied.indexes + 1] = i
  end
end
for k, u in ipairs(add.uniques or {}) do
  if not have['u:' .. table.concat(u, ',')] then
    have['u:' .. table.concat(u, ',')] = true
    uniques[#uniques + 1] = { n = k, fields = u }
    applied.uniques[#applied.uniques + 1] = u
  end
end
for _, f in ipairs(add.fields or {}) do
  if not have['f:' .. f] then
    have['f:' .. f] = true
    applied.fields[#applied.fields + 1] = f
  end
end

local records = {}
if #indexes > 0 or #uniques > 0 then
  for _, id in ipairs(all_ids(T)) do
    local r = load(rkey(T, id))
    if r then records[#records + 1] = { id = id, r = r } end
  end
end

-- Refuse before any write: live records sharing the values of a new unique constraint.
for _, u in ipairs(uniques) do
  local holder, clash, ids = {}, {}, {}
  for _, x in ipairs(records) do
    if x.r.deletedAt == 'null' then
      local k = unique_key(T, u.fields, x.r)
      if k then
        if holder[k] then
          if not clash[holder[k]] then
            clash[holder[k]] = true
            ids[#ids + 1] = holder[k]
          end
          ids[#ids + 1] = x.id
        else
          holder[k] = x.id
        end
      end
    end
  end
  if #ids > 0 then return { 'violation', tostring(u.n), unpack(ids) } end
end

for _, x in ipairs(records) do
  local id, r = x.id, x.r
  local p, lv = r.projectId or 'null', r.deletedAt == 'null' and 'l' or 'd'
  for _, i in ipairs(indexes) do
    local f = i.field
    if i.kind == 'sort' then
      index_sort(T, lay, f, id, r['~s:' .. f], p, lv, false)
      local tok = token_of(r[f])
      if tok then
        redis.call('HSET', rkey(T, id), '~s:' .. f, tok)
        index_sort(T, lay, f, id, tok, p, lv, true)
      end
    elseif f ~= 'projectId' then
      local v = r[f] or 'null'
      redis.call('HSET', rkey(T, id), '~e:' .. f, v)
      index_eq(T, lay, f, id, v, p, lv, true)
    end
  end
  if lv == 'l' then
    for _, u in ipairs(uniques) do
      local k = unique_key(T, u.fields, r)
      if k then
        redis.call('SET', k, id)
        redis.call('HSET', rkey(T, id), '~u:' .. table.concat(u.fields, ','), k)
      end
    end
  end
end
applied.pending = pending_after(applied.fields, applied.pending, add.pending)
redis.call('SET', KEYS[1], cjson.encode(applied))
return { 'ok' }
