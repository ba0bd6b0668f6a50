-- How many records of the partitions match the predicates, from the index keys only:
-- the sizes of the partitions' id index without predicates, the size of the predicate's
-- own index for one predicate, else the smallest predicate index filtered by the others.
-- KEYS[1] routes the call. ARGV: T, layout (not read: the driver sends '-'), partitions,
-- predicates.
-- Reply: { the count, how many ids of the predicate index it took are in legacy sets (see
-- qkey; 0 when it took none) }.
local T = ARGV[1]
local parts, i = read_parts(3)
local preds = read_preds(i)
if #preds == 0 then
  local n = 0
  for _, part in ipairs(parts) do n = n + redis.call('ZCARD', zkey(T, 'id', part)) end
  return { n, 0 }
end
local best, m, old = best_source(T, parts, preds)
if best and #preds == 1 then return { m, old } end
if best and m == 0 then return { 0, old } end
local cols, pos = columns(preds, nil, best)
local n = 0
local function consider(id)
  if matches(preds, best, read_columns(T, id, cols), pos, id) then n = n + 1 end
end
if best then
  for _, id in ipairs(source_ids(T, parts, best)) do consider(id) end
else
  for _, part in ipairs(parts) do
    local lo = '-'
    while true do
      local got = redis.call('ZRANGEBYLEX', zkey(T, 'id', part), lo, '+', 'LIMIT', 0, 1000)
      for _, mem in ipairs(got) do consider(member_id(mem)) end
      if #got < 1000 then break end
      lo = '(' .. got[#got]
    end
  end
end
return { n, old }
