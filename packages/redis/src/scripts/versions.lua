-- How many records are stored at each object version, from the sizes of the per-version
-- sorted sets (and the plain sets of a store written before them, see version_add).
-- KEYS[1] the set of versions. ARGV: T.
-- Reply: a flat list of version JSON, count.
local out = {}
for _, v in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = v
  out[#out + 1] = redis.call('ZCARD', vkey(ARGV[1], v)) + redis.call('SCARD', ARGV[1] .. 'v:' .. v)
end
return out
