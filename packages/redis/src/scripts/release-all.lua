-- Hard-deletes every live fixed IP of an instance within the write scope.
-- KEYS[1] the equality index of instanceId for the partition. ARGV: T, layout.
-- Reply: how many were removed.
local T, lay = ARGV[1], cjson.decode(ARGV[2])
lay = with_applied(T, lay)
local n = 0
local ids = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do ids[#ids + 1] = eq_id(m) end
for _, id in ipairs(redis.call('SMEMBERS', legacy_of(T, KEYS[1]))) do ids[#ids + 1] = id end
for _, id in ipairs(ids) do
  local r = load(rkey(T, id))
  if r and r.deletedAt == 'null' then
    remove(T, lay, id, r)
    n = n + 1
  end
end
return n
