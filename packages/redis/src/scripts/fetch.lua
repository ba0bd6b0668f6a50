-- Reads several records in one round trip.
-- KEYS[1] unused (routes the call). ARGV: T, then ids.
-- Reply: one row per id that has a record (see record_row), in the order of the ids.
local T = ARGV[1]
local out = {}
for k = 2, #ARGV do out[#out + 1] = record_row(T, ARGV[k]) end
return out
