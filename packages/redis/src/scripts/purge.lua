-- Removes up to `batch` soft-deleted records with deletedAt < before, oldest first, found
-- through the deleted index (members '<deletedAt>\0<id>').
-- KEYS[1] the deleted index. ARGV: T, layout, before (ISO), batch.
-- Reply: {index members taken (the caller repeats while it equals batch), records removed}.
local T, lay = ARGV[1], cjson.decode(ARGV[2])
-- The entries it removes include those of the indexes a newer definition applied.
lay = with_applied(T, lay)
local members = redis.call('ZRANGEBYLEX', KEYS[1], '-', '(' .. ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
local removed = 0
for _, m in ipairs(members) do
  local id = member_id(m)
  local r = load(rkey(T, id))
  if r and r.deletedAt ~= 'null' and deleted_member(r, id) == m then
    remove(T, lay, id, r)
    removed = removed + 1
  else
    redis.call('ZREM', KEYS[1], m)
  end
end
return { #members, removed }
