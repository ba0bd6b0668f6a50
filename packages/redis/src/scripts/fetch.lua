-- Reads several records in one round trip.
-- KEYS[1] unused (routes the call). ARGV: T, then ids.
-- Reply: one field/value list per id (empty when missing), in the order of the ids.
local out = {}
for i = 2, #ARGV do out[#out + 1] = redis.call('HGETALL', rkey(ARGV[1], ARGV[i])) end
return out
