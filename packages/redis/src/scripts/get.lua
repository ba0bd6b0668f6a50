-- One record in its reply form (record_row), or nil when there is none: what a get reads.
-- The driver loads it with the reply's fields bound (see BOUND_NAMES), so a call sends the
-- key, the base and the id: an HMGET of the fields from the client would send every name
-- and get a reply string per field, which costs the client about twice the whole call.
-- KEYS[1] the record key. ARGV: T, id, the fields of the reply (see read_names).
-- Reply: the record's row (a stored one with its head, see record_row), or nil.
local names = read_names(3)
return record_row(ARGV[1], ARGV[2], names)
