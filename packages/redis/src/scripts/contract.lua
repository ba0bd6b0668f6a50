-- Drops the elements a resource has: an index's or unique constraint's keys go (every key
-- of it, stale ones included), and a dropped field's values leave every record (revisions
-- do not move).
-- KEYS[1] the schema key. ARGV: T, base (the elements JSON recorded when none are), the
-- elements JSON to drop.
-- Reply: {'ok'}.
local T = ARGV[1]
local applied = schema_load(KEYS[1], ARGV[2])
local drop = cjson.decode(ARGV[3])
local gone = {}
for _, f in ipairs(drop.fields or {}) do gone['f:' .. f] = true end
for _, i in ipairs(drop.indexes or {}) do
  gone['i:' .. i.field .. ':' .. i.kind] = true
  del_prefixed(T .. (i.kind == 'sort' and 'z:' or 'e:') .. i.field .. ':')
end
for _, u in ipairs(drop.uniques or {}) do
  gone['u:' .. table.concat(u, ',')] = true
  del_prefixed(T .. 'u:' .. table.concat(u, ',') .. ':')
end
local dropped = {}
for _, f in ipairs(drop.fields or {}) do
  dropped[#dropped + 1] = f
  dropped[#dropped + 1] = '~s:' .. f
  dropped[#dropped + 1] = '~e:' .. f
end
if #dropped > 0 then
  for _, id in ipairs(all_ids(T)) do redis.call('HDEL', rkey(T, id), unpack(dropped)) end
end
local kept = { fields = {}, indexes = {}, uniques = {} }
for _, f in ipairs(applied.fields) do
  if not gone['f:' .. f] then kept.fields[#kept.fields + 1] = f end
end
for _, i in ipairs(applied.indexes) do
  if not gone['i:' .. i.field .. ':' .. i.kind] then kept.indexes[#kept.indexes + 1] = i end
end
for _, u in ipairs(applied.uniques) do
  if not gone['u:' .. table.concat(u, ',')] then kept.uniques[#kept.uniques + 1] = u end
end
-- The write-only marks of the fields that remain stay with them.
kept.pending = pending_after(kept.fields, applied.pending)
-- An expand in progress (expand.lua) goes on.
kept.expand = applied.expand
redis.call('SET', KEYS[1], cjson.encode(kept))
return { 'ok' }
