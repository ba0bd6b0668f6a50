-- One page of the records stored at an object version, by id in code point order: a range
-- of the version's sorted set from the cursor (O(log N + page), see version_add).
-- KEYS[1] the version's sorted set. ARGV: T, after ('' for from the first), has after
-- '1'/'0', limit, the version (JSON).
-- Reply: {'old'} while the version still has a plain set of a store written before the
-- sorted sets (the caller converts it, convert-version.lua, and asks again), else {'ok',
-- then one field/value list per record, in ascending id order}.
local T, after, from, limit = ARGV[1], ARGV[2], ARGV[3] == '1', tonumber(ARGV[4])
if redis.call('EXISTS', T .. 'v:' .. ARGV[5]) == 1 then return { 'old' } end
local ids = redis.call('ZRANGEBYLEX', KEYS[1], from and ('(' .. after) or '-', '+', 'LIMIT', 0, limit)
local out = { 'ok' }
for k, id in ipairs(ids) do out[k + 1] = redis.call('HGETALL', rkey(T, id)) end
return out
