-- One page of the records stored at an object version, by id in code point order.
-- KEYS[1] the version's id set. ARGV: T, after ('' for from the first), has after '1'/'0', limit.
-- Reply: one field/value list per record, in ascending id order.
local T, after, from, limit = ARGV[1], ARGV[2], ARGV[3] == '1', tonumber(ARGV[4])
local ids = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if not from or cmp(id, after) > 0 then ids[#ids + 1] = id end
end
table.sort(ids, function(a, b) return cmp(a, b) < 0 end)
local out = {}
for k = 1, math.min(limit, #ids) do out[k] = redis.call('HGETALL', rkey(T, ids[k])) end
return out
