-- rewrite.lua for many records in one script: each record is rewritten exactly as rewrite.lua
-- would, one after the other (so a unique value two records of the batch want goes to the
-- first), and a record at another revision, gone, or whose new values clash with a live
-- record is skipped, unchanged. The element list (layout and applied) is read once.
-- KEYS[1] routes the script (a key of the resource). ARGV: T, layout, schema key, count,
-- then per record: id, expected revision, number of hash entries (field and value each
-- count), the new record hash as field/value pairs (with the layout's sort tokens).
-- Reply: the ids rewritten, in the order given.
local T, lay = ARGV[1], cjson.decode(ARGV[2])

-- Every element: the layout's and the applied ones.
local sorts, eqs, uniques, seen = {}, {}, {}, {}
local function add(list, name, v)
  if not seen[name] then
    seen[name] = true
    list[#list + 1] = v
  end
end
for _, f in ipairs(lay.s) do add(sorts, 's:' .. f, f) end
for _, f in ipairs(lay.e) do add(eqs, 'e:' .. f, f) end
for _, u in ipairs(lay.u) do add(uniques, 'u:' .. table.concat(u, ','), u) end
local text = redis.call('GET', ARGV[3])
if text then
  local applied = cjson.decode(text)
  for _, i in ipairs(applied.indexes or {}) do
    if i.kind == 'sort' then
      add(sorts, 's:' .. i.field, i.field)
    elseif i.field ~= 'projectId' then
      add(eqs, 'e:' .. i.field, i.field)
    end
  end
  for _, u in ipairs(applied.uniques or {}) do add(uniques, 'u:' .. table.concat(u, ','), u) end
end

-- Rewrites one record (ARGV[first .. last] its new hash); whether it did.
local function rewrite_one(id, expected, first, last)
  local key = rkey(T, id)
  local r = load(key)
  if not r or r.revision ~= expected then return false end
  local flat = {}
  for i = first, last do flat[#flat + 1] = ARGV[i] end
  local n = {}
  for i = 1, #flat, 2 do n[flat[i]] = flat[i + 1] end

  local live = (n.deletedAt or 'null') == 'null'
  if live then
    for _, u in ipairs(uniques) do
      local k = unique_key(T, u, n)
      local holder = k and redis.call('GET', k)
      if holder and holder ~= id then
        local h = load(rkey(T, holder))
        if h and h.deletedAt == 'null' and unique_key(T, u, h) == k then return false end
      end
    end
  end

  -- Remove every entry the old record may have, in both livenesses.
  local p = r.projectId or 'null'
  for _, lv in ipairs({ 'l', 'd' }) do
    for _, f in ipairs(sorts) do
      index_sort(T, lay, f, id, r['~s:' .. f], p, lv, false)
      index_sort(T, lay, f, id, token_of(r[f]), p, lv, false)
    end
    for _, f in ipairs(eqs) do
      index_eq(T, lay, f, id, r[f] or 'null', p, lv, false)
      if r['~e:' .. f] then index_eq(T, lay, f, id, r['~e:' .. f], p, lv, false) end
    end
  end
  for _, u in ipairs(uniques) do
    for _, k in ipairs({ unique_key(T, u, r), r['~u:' .. table.concat(u, ',')] or false }) do
      if k and redis.call('GET', k) == id then redis.call('DEL', k) end
    end
  end
  if (r.deletedAt or 'null') ~= 'null' then redis.call('ZREM', T .. 'deleted', deleted_member(r, id)) end
  if r.objectVersion then version_rem(T, r.objectVersion, id) end

  -- Store the new record and enter it in every element.
  redis.call('DEL', key)
  redis.call('HSET', key, unpack(flat))
  local np, lv = n.projectId or 'null', live and 'l' or 'd'
  for _, f in ipairs(sorts) do
    local tok = n['~s:' .. f] or token_of(n[f])
    if tok then
      redis.call('HSET', key, '~s:' .. f, tok)
      index_sort(T, lay, f, id, tok, np, lv, true)
    end
  end
  for _, f in ipairs(eqs) do
    local v = n[f] or 'null'
    redis.call('HSET', key, '~e:' .. f, v)
    index_eq(T, lay, f, id, v, np, lv, true)
  end
  if live then
    for _, u in ipairs(uniques) do
      local k = unique_key(T, u, n)
      if k then
        redis.call('SET', k, id)
        redis.call('HSET', key, '~u:' .. table.concat(u, ','), k)
      end
    end
  else
    redis.call('ZADD', T .. 'deleted', 0, deleted_member(n, id))
  end
  version_add(T, n.objectVersion, id)
  return true
end

local done, at = {}, 5
for _ = 1, tonumber(ARGV[4]) do
  local id, expected, size = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2])
  if rewrite_one(id, expected, at + 3, at + 2 + size) then done[#done + 1] = id end
  at = at + 3 + size
end
return done
