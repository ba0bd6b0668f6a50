-- Replaces one whole record (any project, live or soft-deleted) if it is at the expected
-- revision, and makes every index and unique entry of it match the new record: those of
-- the caller's layout and those the schema key records as applied. Entries under the old
-- values, under the values expand or an earlier rewrite entered ('~e:' and '~u:' fields)
-- and (for a soft-deleted record) in either liveness are removed first, so entries an older or newer client left stale
-- go. A unique key held by a live record that still holds those values is a clash; one
-- whose holder is gone, deleted or holds other values is stale and taken over
-- (rewrite_elements, rewrite_clash and rewrite_stored in prelude.lua).
-- KEYS[1] the record key. ARGV: T, layout, schema key, id, expected revision, the fields
-- of a conflict's reply (see read_names), then the new record hash as field/value pairs
-- (with the sort tokens of the layout's fields).
-- Reply: {'ok'} (the record is the one sent) | {'not-found'} | {'conflict', record (one
-- string of the reply fields, record_text)} | {'duplicate', 'f1,f2'}.
local T, lay, id = ARGV[1], layout_of(ARGV[2]), ARGV[4]
local key = KEYS[1]
local r = load(key)
if not r then return { 'not-found' } end
local names, at = read_names(6)
if r.revision ~= ARGV[5] then return { 'conflict', record_text(r, names) } end
local flat = {}
for i = at, #ARGV do flat[#flat + 1] = ARGV[i] end
local n = {}
for i = 1, #flat, 2 do n[flat[i]] = flat[i + 1] end

local els = rewrite_elements(lay, ARGV[3])
local clash = rewrite_clash(T, els, id, n)
if clash then return { 'duplicate', table.concat(clash, ',') } end
rewrite_stored(T, lay, els, key, id, r, flat, n)
return { 'ok' }
