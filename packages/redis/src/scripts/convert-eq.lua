-- Moves up to `batch` ids of an equality index's legacy set (the layout of a store written
-- before the sorted sets, see qkey) to its sorted set. Each id is in one of the two at any
-- time, so reads and writes stay right while a store is converted; a conversion cut short
-- goes on at the next call.
-- KEYS[1] the legacy set. ARGV: the sorted set's key, batch.
-- Reply: how many ids the legacy set still holds.
local ids = redis.call('SPOP', KEYS[1], tonumber(ARGV[2]))
if #ids > 0 then
  local args = {}
  for _, id in ipairs(ids) do
    args[#args + 1] = 0
    args[#args + 1] = id .. '\0' .. id
  end
  redis.call('ZADD', ARGV[1], unpack(args))
end
return redis.call('SCARD', KEYS[1])
