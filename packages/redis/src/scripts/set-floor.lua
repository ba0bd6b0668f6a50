-- Raises a resource's write floor (see below_floor): from now on insert.lua, update.lua
-- and allocate.lua refuse a write that leaves a record below it. A floor lower than (or
-- equal to) the one recorded changes nothing, so the call is idempotent and the floor
-- never goes down.
-- KEYS[1] the floor key (T .. 'floor'). ARGV: the floor ('major.minor').
-- Reply: the floor recorded after the call.
local cur = redis.call('GET', KEYS[1])
if cur and not version_older(cur, ARGV[1]) then return cur end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
