-- How many records are stored at each object version, from the per-version sets.
-- KEYS[1] the set of versions. ARGV: T.
-- Reply: a flat list of version JSON, count.
local out = {}
for _, v in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = v
  out[#out + 1] = redis.call('SCARD', ARGV[1] .. 'v:' .. v)
end
return out
