-- Deletes a live record in the write scope, if at the expected revision. A soft delete
-- sets deletedAt = updatedAt = at, bumps the revision, frees the unique values and moves
-- the index entries to the deleted partitions; a hard delete removes everything.
-- KEYS[1] the record key. ARGV: T, layout, id, scope ('' or project JSON), expected
-- revision ('' for none), soft '1'/'0', at JSON, at token, the fields of the reply (see
-- read_names), expected values (count; each: field, count, JSON texts; as update.lua), and
-- last the schema text the client knows adds nothing to its layout ('' for none; see
-- with_applied).
-- Reply: {'ok', record (the last state)[, schema text]} | {'not-found'} | {'conflict',
-- record}, a record as one string of the reply fields (record_text), as the reads return
-- it. The schema text comes as update.lua's does.
local T, id, scope, exprev = ARGV[1], ARGV[3], ARGV[4], ARGV[5]
local names, at = read_names(9)
local key = KEYS[1]
local r = load(key)
if not r or not writable(r, scope) then return { 'not-found' } end
if not meets_conditions(r, exprev, at) then return { 'conflict', record_text(r, names) } end
-- The index entries it moves and the unique values it frees include those of the indexes
-- and constraints a newer definition applied.
local lay, learned = with_applied(T, layout_of(ARGV[2]), nil, ARGV[#ARGV])
if ARGV[6] ~= '1' then
  remove(T, lay, id, r)
  return { 'ok', record_text(r, names), learned }
end

index_all(T, lay, id, r, 'l', false)
for _, k in ipairs(unique_keys(T, lay, r)) do
  if k and redis.call('GET', k) == id then redis.call('DEL', k) end
end
local n = copy(r)
local revision = string.format('%d', tonumber(r.revision) + 1)
n.deletedAt, n.updatedAt, n['~s:updatedAt'], n.revision = ARGV[7], ARGV[7], ARGV[8], revision
index_all(T, lay, id, n, 'd', true)
redis.call('ZADD', T .. 'deleted', 0, deleted_member(n, id))
local writes = { 'deletedAt', ARGV[7], 'updatedAt', ARGV[7], '~s:updatedAt', ARGV[8], 'revision', revision }
-- The equality entries are now under the record's values (see index_all): remember them.
for _, f in ipairs(lay.e) do
  n['~e:' .. f] = n[f] or 'null'
  writes[#writes + 1] = '~e:' .. f
  writes[#writes + 1] = n['~e:' .. f]
end
redis.call('HSET', key, unpack(writes))
local row = save_row(T, id, n)
return { 'ok', names == BOUND_NAMES and row or record_text(n, names), learned }
