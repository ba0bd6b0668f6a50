-- Reads several records in one round trip.
-- KEYS[1] unused (routes the call). ARGV: T, the fields of the reply (see read_names), then ids.
-- Reply: one row per id that has a record (see record_row), in the order of the ids.
local T = ARGV[1]
local names, i = read_names(2)
local out = {}
for k = i, #ARGV do out[#out + 1] = record_row(T, ARGV[k], names) end
return out
