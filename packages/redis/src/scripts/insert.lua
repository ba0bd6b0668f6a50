-- Inserts a new record with its index entries, unless its id exists (live or deleted) or
-- a live record holds the same unique values (of the layout's constraints or the applied ones).
-- KEYS[1] the record key. ARGV: T, layout, id, the record hash as field/value pairs, and
-- last the schema text the client knows adds nothing to its layout ('' for none; see
-- with_applied).
-- Reply: {'ok'[, schema text]} | {'duplicate', 'id' | the constraint's fields as 'f1,f2'},
-- or the error reply 'BELOWPIN …' when its objectVersion is below the write floor
-- (below_floor). The schema text comes as update.lua's does.
local T, lay, id = ARGV[1], layout_of(ARGV[2]), ARGV[3]
local schema, floor = schema_and_floor(T)
local learned
lay, learned = with_applied(T, lay, schema, ARGV[#ARGV])
local flat = {}
for i = 4, #ARGV - 1 do flat[#flat + 1] = ARGV[i] end
local err = insert(T, lay, id, flat, floor)
if err then return err end
return { 'ok', learned }
