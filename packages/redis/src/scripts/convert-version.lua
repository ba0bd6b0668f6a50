-- Moves up to `batch` ids of an object version's plain set (the layout of a store written
-- before the sorted sets, see version_add) to its sorted set. Each id is in one of the two
-- at any time, so counts and writes stay right while a store is converted; a conversion
-- cut short goes on at the next call.
-- KEYS[1] the version's plain set. ARGV: T, the version (JSON), batch.
-- Reply: how many ids the plain set still holds.
local ids = redis.call('SPOP', KEYS[1], tonumber(ARGV[3]))
if #ids > 0 then
  local args = {}
  for _, id in ipairs(ids) do
    args[#args + 1] = 0
    args[#args + 1] = id
  end
  redis.call('ZADD', vkey(ARGV[1], ARGV[2]), unpack(args))
end
return redis.call('SCARD', KEYS[1])
