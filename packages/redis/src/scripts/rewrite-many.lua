-- rewrite.lua for many records in one script: each record is rewritten exactly as rewrite.lua
-- would, one after the other (so a unique value two records of the batch want goes to the
-- first), and a record at another revision, gone, or whose new values clash with a live
-- record is skipped, unchanged. The element list (layout and applied) is read once.
-- KEYS[1] routes the script (a key of the resource). ARGV: T, layout, schema key, count,
-- then per record: id, expected revision, number of hash entries (field and value each
-- count), the new record hash as field/value pairs (with the layout's sort tokens).
-- Reply: the ids rewritten, in the order given.
local T, lay = ARGV[1], layout_of(ARGV[2])
local els = rewrite_elements(lay, ARGV[3])

-- Rewrites one record (ARGV[first .. last] its new hash); whether it did.
local function rewrite_one(id, expected, first, last)
  local key = rkey(T, id)
  local r = load(key)
  if not r or r.revision ~= expected then return false end
  local flat = {}
  for i = first, last do flat[#flat + 1] = ARGV[i] end
  local n = {}
  for i = 1, #flat, 2 do n[flat[i]] = flat[i + 1] end
  if rewrite_clash(T, els, id, n) then return false end
  rewrite_stored(T, lay, els, key, id, r, flat, n)
  return true
end

local done, at = {}, 5
for _ = 1, tonumber(ARGV[4]) do
  local id, expected, size = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2])
  if rewrite_one(id, expected, at + 3, at + 2 + size) then done[#done + 1] = id end
  at = at + 3 + size
end
return done
