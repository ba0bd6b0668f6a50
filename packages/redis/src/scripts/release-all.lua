-- Hard-deletes every live fixed IP of an instance within the write scope.
-- KEYS[1] the equality index of instanceId for the partition. ARGV: T, layout.
-- Reply: how many were removed.
local T, lay = ARGV[1], cjson.decode(ARGV[2])
lay = with_applied(T, lay)
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local r = load(rkey(T, id))
  if r and r.deletedAt == 'null' then
    remove(T, lay, id, r)
    n = n + 1
  end
end
return n
