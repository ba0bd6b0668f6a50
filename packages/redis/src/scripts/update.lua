-- Applies a conditional update to a live record in the write scope: checks the expected
-- revision and values, then the unique constraints, then writes the changed fields, the
-- next revision, updatedAt and objectVersion, and moves the changed index entries (and
-- the '~e:'/'~u:' fields that remember them, see rewrite.lua).
-- KEYS[1] the record key. ARGV: T, layout, id, scope ('' or project JSON), expected
-- revision ('' for none), the fields of the reply (see read_names), expected values
-- (count; each: field, count, JSON texts), set fields (count; each: field, JSON text, has
-- token '1'/'0', sort token), updatedAt JSON, updatedAt token, objectVersion JSON, and
-- last the schema text the client knows adds nothing to its layout ('' for none; see
-- with_applied).
-- Reply: {'ok', record[, schema text]} | {'not-found'} | {'conflict', record} |
-- {'duplicate', 'f1,f2'}, or the error reply 'BELOWPIN …' when objectVersion is below the
-- write floor (below_floor). The schema text comes when it adds nothing to the layout and is
-- not the one the client sent: the client sends it from then on.
-- A record is one string of the reply fields (record_text), as the reads return it.
-- The unique constraints are the layout's and the applied ones (with_applied).
local T, id, scope, exprev = ARGV[1], ARGV[3], ARGV[4], ARGV[5]
local names, at = read_names(6)
local key = KEYS[1]
local r = load(key)
if not r or not writable(r, scope) then return { 'not-found' } end

local ok, i = meets_conditions(r, exprev, at)
if not ok then return { 'conflict', record_text(r, names) } end
-- The layout (and the schema key it is completed from) and the floor are only needed for
-- a write.
local schema, floor = schema_and_floor(T)
local lay, learned = with_applied(T, layout_of(ARGV[2]), schema, ARGV[#ARGV])

local oldk = unique_keys(T, lay, r)
-- The record is changed in place (n is r), not copied first: `was` keeps the value each
-- field had before its first put (false for none), which `before` gives. No copy of the
-- record's 30-odd fields, and the partitions made once: the server's time of an update
-- went down by 3 to 9 % (lua-ab medians 0.91 to 0.97). Until the HSET below nothing is
-- written, so a refusal (floor, duplicate) leaves everything as it was.
local n, was = r, {}
local writes = {}
local function put(f, v)
  if was[f] == nil then was[f] = r[f] or false end
  n[f] = v
  writes[#writes + 1] = f
  writes[#writes + 1] = v
end
local function before(f)
  local x = was[f]
  if x == nil then return n[f] end
  return x or nil
end
-- The fields whose sort token the caller sent (its layout's sort fields).
local tokened = { updatedAt = true }
local nset = tonumber(ARGV[i])
i = i + 1
for _ = 1, nset do
  put(ARGV[i], ARGV[i + 1])
  if ARGV[i + 2] == '1' then
    put('~s:' .. ARGV[i], ARGV[i + 3])
    tokened[ARGV[i]] = true
  end
  i = i + 4
end
local oldrev = n.revision
put('updatedAt', ARGV[i])
put('~s:updatedAt', ARGV[i + 1])
put('objectVersion', ARGV[i + 2])
put('revision', string.format('%d', tonumber(oldrev) + 1))
-- A write at an object version below the write floor is refused before anything changes.
local refused = below_floor(T, lay, ARGV[i + 2], floor)
if refused then return refused end

local newk = unique_keys(T, lay, n)
for k = 1, #lay.u do
  if newk[k] and newk[k] ~= oldk[k] then
    local holder = redis.call('GET', newk[k])
    if holder and holder ~= id then return { 'duplicate', table.concat(lay.u[k], ',') } end
  end
end

local p = before('projectId')
-- The partitions of the record's sort entries, made once for every field's moves.
local parts = parts_of(lay, p, 'l')
-- A sort field of the applied indexes the caller does not sort by comes without its token:
-- a changed value gets the one it has (token_of, layout.ts sortToken's encoding), and so
-- does a record an older client wrote with no token (and no entry) before this one kept
-- such indexes.
for _, f in ipairs(lay.s) do
  local tf = '~s:' .. f
  local a, b = before(tf), n[tf]
  if not tokened[f] and (not b or n[f] ~= before(f)) then
    b = token_of(n[f])
    if b then
      put(tf, b)
    elseif a then
      n[tf] = nil
      redis.call('HDEL', key, tf)
    end
  end
  if a ~= b then
    for _, part in ipairs(parts) do
      local zk = zkey(T, f, part)
      if a then redis.call('ZREM', zk, a .. SEP .. id) end
      if b then redis.call('ZADD', zk, 0, b .. SEP .. id) end
    end
  end
end
-- An equality entry is found by '~e:<field>', the value it was entered under. A record an
-- older definition wrote after expand added the index has none and no entry: it is
-- entered now, even when the field does not change (an upgrade fills in new fields).
for _, f in ipairs(lay.e) do
  local ef = '~e:' .. f
  local entered, b = before(ef), n[f] or 'null'
  if entered ~= b then
    index_eq(T, lay, f, id, entered or before(f) or 'null', p, 'l', false)
    index_eq(T, lay, f, id, b, p, 'l', true)
    put(ef, b)
  end
end
for k = 1, #lay.u do
  if oldk[k] ~= newk[k] then
    if oldk[k] and redis.call('GET', oldk[k]) == id then redis.call('DEL', oldk[k]) end
    if newk[k] then
      redis.call('SET', newk[k], id)
      put('~u:' .. table.concat(lay.u[k], ','), newk[k])
    end
  end
end
if before('objectVersion') ~= n.objectVersion then
  if before('objectVersion') then version_rem(T, before('objectVersion'), id) end
  version_add(T, n.objectVersion, id)
end
redis.call('HSET', key, unpack(writes))
local row = save_row(T, id, n)
return { 'ok', names == BOUND_NAMES and row or record_text(n, names), learned }
