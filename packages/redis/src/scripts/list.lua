-- One page of records in the total order (order field, id), from the index keys only.
-- KEYS[1] routes the call. ARGV: T, layout, order field, 'asc'|'desc', lo and hi bounds
-- of the order index (cursor and ranges on the order field, ZRANGEBYLEX syntax), limit,
-- partitions (see read_parts), predicates (see read_preds), the fields of the reply (see
-- read_names).
--
-- Plan: walking the order index from the cursor stops after `limit` matches, which costs
-- about limit * n / m entries when m of the n walked entries match. A predicate's own
-- index (an equality set, or a range of another sorted index) yields its m candidates,
-- which are filtered and sorted here. The script takes that index when m * m <= limit * n.
-- Reply: one row per record (see record_row), in order.
local T, order, desc, lo, hi, limit = ARGV[1], ARGV[3], ARGV[4] == 'desc', ARGV[5], ARGV[6], tonumber(ARGV[7])
local parts, i = read_parts(8)
local preds
preds, i = read_preds(i)
local names = read_names(i)

local n = 0
for _, part in ipairs(parts) do n = n + redis.call('ZLEXCOUNT', zkey(T, order, part), lo, hi) end
if n == 0 then return {} end
local best, m = best_source(T, parts, preds)
if best and m == 0 then return {} end

if best and m < n and m * m <= limit * n then
  -- The order index's member of a record is '<token>\0<id>'. By id the token is the id
  -- itself, so a candidate needs no read unless another predicate checks it; else its
  -- token is read with the columns the other predicates check.
  local byid = order == 'id'
  local ocol = not byid and ('~s:' .. order) or nil
  local cols, pos = columns(preds, ocol, best)
  local hcols, headed = columns_with_head(cols, names)
  local revs, ats = {}, {}
  local rows, seen = {}, {}
  for _, id in ipairs(source_ids(T, parts, best)) do
    if not seen[id] then
      seen[id] = true
      local vals = #cols > 0 and read_columns(T, id, hcols)
      if headed then revs[id], ats[id] = vals[#cols + 1], vals[#cols + 2] end
      local tok = byid and id or vals[pos[ocol]]
      if tok then
        local mem = tok .. SEP .. id
        if within(mem, lo, hi) and (not vals or matches(preds, best, vals, pos, id)) then rows[#rows + 1] = mem end
      end
    end
  end
  -- The members of one token in one sorted index come in id order: by id, candidates of an
  -- equality on one sortable value in one partition need no sort.
  sort_members(rows, desc, byid and #parts == 1 and best.kind == 'v' and #best.values == 1)
  -- A candidate whose record is gone (an entry nothing removed) is passed over.
  local out = {}
  for k = 1, #rows do
    if #out >= limit then break end
    local id = member_id(rows[k])
    out[#out + 1] = record_row(T, id, names, revs[id], ats[id])
  end
  return out
end

-- Walk: a k-way merge of the order index of each partition, in batches.
local cols, pos = columns(preds, nil, nil)
local hcols, headed = columns_with_head(cols, names)
local streams = {}
for k, part in ipairs(parts) do
  streams[k] = { key = zkey(T, order, part), lo = lo, hi = hi, buf = {}, pos = 1, done = false, batch = math.max(limit, 16) }
end
local function head(s)
  if s.pos > #s.buf then
    if s.done then return nil end
    local got
    if desc then
      got = redis.call('ZREVRANGEBYLEX', s.key, s.hi, s.lo, 'LIMIT', 0, s.batch)
    else
      got = redis.call('ZRANGEBYLEX', s.key, s.lo, s.hi, 'LIMIT', 0, s.batch)
    end
    if #got < s.batch then s.done = true end
    if #got == 0 then return nil end
    if desc then s.hi = '(' .. got[#got] else s.lo = '(' .. got[#got] end
    s.buf, s.pos = got, 1
    s.batch = math.min(s.batch * 2, 1024)
  end
  return s.buf[s.pos]
end
-- Which of two heads comes first: Lua's '<' where it is byte order (see lt_is_bytewise).
local bytewise = #streams > 1 and lt_is_bytewise()
local function first(a, b)
  if bytewise then
    if desc then return a > b end
    return a < b
  end
  if desc then return cmp(a, b) > 0 end
  return cmp(a, b) < 0
end
local out = {}
while #out < limit do
  local pick, pm = nil, nil
  for _, s in ipairs(streams) do
    local h = head(s)
    if h and (pm == nil or first(h, pm)) then pick, pm = s, h end
  end
  if not pick then break end
  pick.pos = pick.pos + 1
  local id = member_id(pm)
  if #preds == 0 then
    out[#out + 1] = record_row(T, id, names)
  else
    local vals = read_columns(T, id, hcols)
    if matches(preds, nil, vals, pos, id) then
      if headed then
        out[#out + 1] = record_row(T, id, names, vals[#cols + 1], vals[#cols + 2])
      else
        out[#out + 1] = record_row(T, id, names)
      end
    end
  end
end
return out
