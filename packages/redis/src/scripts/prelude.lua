-- polystore: helpers shared by the scripts. Each script is this header, then those of the
-- definitions below that its body uses (directly or through other definitions, in this
-- file's order), then its body: self-contained for EVALSHA, and making on each call only
-- the closures it needs (tools/shake-lua.mjs; tools/embed-lua.mjs writes lua-sources.ts).
-- So that the shaking can read this file, its top level holds only this header and
-- definitions: `local function name(...)` blocks closed by an `end` in column 0 (or on
-- their first line) and `local name = ...` statements (further lines indented), each with
-- the comment lines right above it, which go with it.
--
-- Conventions (see layout.ts, which is the TypeScript side of the same layout):
--   T            the resource's key base, '<prefix>{<namespace>}:<plural>:'
--   lay          the resource's layout descriptor { n = resource name, s = sort fields,
--                e = equality fields, u = unique constraints, g = global resource }
--                (ARGV[2]: its JSON, or '-' where the script has it bound, see layout_of)
--   a record     a hash: '<field>' -> JSON text of the value, '~s:<field>' -> sort token
--   partitions   '<l|d>:<*|projectJson>': live/deleted x all projects/one project
-- Values are compared as JSON texts or sort tokens, never re-encoded here: cjson would
-- change numbers above 1e14 and escape '/', and Lua's '<' on strings follows the locale.

local SEP = '\0'

-- Compares two strings byte by byte (UTF-8 bytes, so by code point): -1, 0 or 1.
local function cmp(a, b)
  if a == b then return 0 end
  local la, lb = #a, #b
  local n = la < lb and la or lb
  local i = 1
  while i + 7 <= n and string.sub(a, i, i + 7) == string.sub(b, i, i + 7) do i = i + 8 end
  while i <= n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y and -1 or 1 end
    i = i + 1
  end
  return la < lb and -1 or 1
end

-- Whether Lua's '<' orders strings by their bytes, as cmp does. Lua 5.1 compares strings
-- with strcoll (and goes on past each NUL), in the collation Redis takes from its
-- environment when it starts (setlocale(LC_COLLATE, '')): byte order in the C and POSIX
-- locales and in C.UTF-8 (code point order, which is the byte order of UTF-8), another
-- order in most others (en_US.UTF-8 puts 'a' before 'B', ignores '-' at first and sorts
-- 'é' next to 'e'). These pairs tell those apart, and check the byte 255 of the bounds
-- above every member of a token ('<token>\0\255', not UTF-8) sorts last; where one fails,
-- the read helpers use cmp. Probed once per script run, at the first comparison.
local bytewise_lt
local function lt_is_bytewise()
  if bytewise_lt == nil then
    bytewise_lt = 'B' < 'a' and 'a-c' < 'ab' and 'z' < '\195\169' and '\195\169' < '\240\159\152\128'
      and 'a\0z' < 'a\0\195\169' and 'a' < 'a\0' and 'a\0\255' < 'a0' and 'a\0z' < 'a\0\255'
      and '\240\159\152\128' < '\255'
  end
  return bytewise_lt
end

-- cmp, with Lua's own '<' (in C, no loop here) where that is byte order: what the read
-- helpers compare every candidate with.
local function cmp_fast(a, b)
  if a == b then return 0 end
  if lt_is_bytewise() then return a < b and -1 or 1 end
  return cmp(a, b)
end

-- Whether a sorted-set member lies within ZRANGEBYLEX-style bounds ('-', '+', '[x', '(x').
local function within(m, lo, hi)
  if lo ~= '-' then
    local c = cmp_fast(m, string.sub(lo, 2))
    if c < 0 or (c == 0 and string.sub(lo, 1, 1) == '(') then return false end
  end
  if hi ~= '+' then
    local c = cmp_fast(m, string.sub(hi, 2))
    if c > 0 or (c == 0 and string.sub(hi, 1, 1) == '(') then return false end
  end
  return true
end

-- The id part of a sorted-set member '<token>\0<id>' (tokens never hold NUL).
local function member_id(m)
  return string.sub(m, string.find(m, SEP, 1, true) + 1)
end

local function rkey(T, id) return T .. 'r:' .. id end
local function wkey(T, id) return T .. 'w:' .. id end
local function zkey(T, f, part) return T .. 'z:' .. f .. ':' .. part end
-- An equality index: a sorted set whose members are those of the id index, '<id>\0<id>'
-- (score 0, so in the id index's order: a filtered page by id is a range walk of it from
-- the same bounds, see list.lua). Stores written before kept a plain set of ids at ekey
-- (legacy): writes remove ids from both and add to the sorted set only, the reads take both,
-- and convert-eq.lua moves what is left (see RedisResourceDriver.convertEqualityIndexes).
local function qkey(T, f, part, v) return T .. 'q:' .. f .. ':' .. part .. ':' .. v end
local function ekey(T, f, part, v) return T .. 'e:' .. f .. ':' .. part .. ':' .. v end

-- The id of an equality index's member (its first half: even an id with a NUL).
local function eq_id(m) return string.sub(m, 1, (#m - 1) / 2) end

-- The legacy set (ekey) of the equality index qk of the resource at T.
local function legacy_of(T, qk) return T .. 'e:' .. string.sub(qk, #T + 3) end

-- The size of equality index qk (of the resource at T), its legacy set included.
local function eq_size(T, qk)
  return redis.call('ZCARD', qk) + redis.call('SCARD', legacy_of(T, qk))
end

-- A record hash as a table, or nil.
local function load(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local r = {}
  for i = 1, #flat, 2 do r[flat[i]] = flat[i + 1] end
  return r
end

-- A record table as a flat field/value list (the arguments of the HSET that writes it).
local function flatten(r)
  local out = {}
  for k, v in pairs(r) do
    out[#out + 1] = k
    out[#out + 1] = v
  end
  return out
end

local function copy(r)
  local n = {}
  for k, v in pairs(r) do n[k] = v end
  return n
end

-- The fields of the replies, in a script the driver loaded for one resource with them
-- bound here (RedisConnection.bind replaces this line with their list, 'id' first, and
-- `sig`, the signature of their rows, see ROW_HEAD); nil in the shared scripts. A bound
-- script's call sends '-' in their place (see read_names): sending 15 names with every call
-- cost the client more than the server's whole get.
local BOUND_NAMES = nil

-- The layout descriptor of the resource a script the driver loaded for one resource was
-- bound to (RedisConnection.bind replaces this line with a function that makes it); nil in
-- the shared scripts. See layout_of.
local BOUND_LAYOUT = nil

-- The layout descriptor of a call (see `lay` above): '-' in a script with the layout bound
-- (BOUND_LAYOUT) makes the table afresh, with no JSON to decode (1.3 µs of an update's 37
-- on the server) and none to send; else the JSON text is decoded.
local function layout_of(text)
  if text ~= '-' then return cjson.decode(text) end
  if not BOUND_LAYOUT then error({ err = 'ERR polystore: no layout is bound in this script' }) end
  return BOUND_LAYOUT()
end

-- A record's reply form, a row: the JSON array of the texts `v` of its fields `names`
-- (from read_names), in that order, joined by '\n,' (JSON whitespace and a comma, which no
-- text polystore writes holds: record-reader.ts); a field it lacks (false in v) is 'null'
-- there, and the array then ends with one more element, the list of those positions (from
-- 0). Only what the caller decodes, the hidden '~' fields stay on the server; and the
-- client reads a row with one JSON.parse, half the time of parsing each text alone.
local function row_of(v, names)
  local absent
  for k = 1, #names do
    if not v[k] then
      v[k] = 'null'
      absent = absent or {}
      absent[#absent + 1] = k - 1
    end
  end
  if absent then v[#names + 1] = '[' .. table.concat(absent, ',') .. ']' end
  return '[' .. table.concat(v, '\n,') .. ']'
end

-- The reply form of a record a write script holds as a table (see row_of). The script has
-- the record already, so no read; the hidden '~' fields stay on the server.
local function record_text(r, names)
  local v = {}
  for k = 1, #names do v[k] = r[names[k]] or false end
  return row_of(v, names)
end

-- The head of a record's stored row (wkey) for the bound fields (nil in the shared
-- scripts): their row signature (RedisConnection's rowSignature, of the fields and the row
-- format) and a NUL, made once per call, not per row. A client of
-- other fields has another signature, and so has every row an earlier release wrote (its
-- format is 'row1'): a read takes a row only under its own head, and reads the hash
-- otherwise. Every write of this release stores the record's row or drops it (save_row,
-- remove, contract), so a row under a reader's head is what the hash holds: no read of the
-- hash checks it. (An earlier release's process writing meanwhile would leave rows behind,
-- as it leaves the equality indexes: the fleet moves first, see the README.)
local ROW_HEAD = BOUND_NAMES and (BOUND_NAMES.sig .. '\0')

-- Stores the reply row of record `id` (the table n) for the reads, at wkey: when the script
-- has fields bound; a script without drops the row it cannot make. Returns the row, or nil.
local function save_row(T, id, n)
  if not BOUND_NAMES then
    redis.call('DEL', wkey(T, id))
    return nil
  end
  local row = record_text(n, BOUND_NAMES)
  redis.call('SET', wkey(T, id), ROW_HEAD .. row)
  return row
end

-- The reply form of record `id` (see row_of), or nil when there is none. For the bound
-- fields, its stored row when that is under their head (ROW_HEAD): one GET, where the
-- hash's fields cost the server an HMGET of every field and the row's making. The stored
-- row comes whole, its head included: the client reads a row from after the head's NUL
-- (RowReader.read), where cutting it here would copy the row once more per record. The
-- head is looked for in place (a plain find that starts at the row's first byte), not cut
-- off and compared: a list page of 50 rows costs the server 2 to 3 % less.
local function record_row(T, id, names)
  if names == BOUND_NAMES then
    local row = redis.call('GET', wkey(T, id))
    if row and string.find(row, ROW_HEAD, 1, true) == 1 then return row end
  end
  local v = redis.call('HMGET', rkey(T, id), unpack(names))
  if not v[1] then return nil end
  return row_of(v, names)
end

-- The partitions a record of project p is indexed under, for liveness lv.
local function parts_of(lay, p, lv)
  if lay.g then return { lv .. ':*' } end
  return { lv .. ':*', lv .. ':' .. p }
end

-- The sort token of a value's JSON text (see layout.ts sortToken): a string as it is, an
-- int offset by 2^53 as 14 hex digits (split in two exact halves); nil for null or none.
local function token_of(text)
  if not text or text == 'null' then return nil end
  if string.sub(text, 1, 1) == '"' then return cjson.decode(text) end
  local v = tonumber(text)
  local hi, lo
  if v >= 0 then
    lo = v % 4294967296
    hi = (v - lo) / 4294967296 + 2097152
  else
    local n = v + 9007199254740992
    hi = math.floor(n / 4294967296)
    lo = n - hi * 4294967296
  end
  return string.format('%06x%08x', hi, lo)
end

local function index_sort(T, lay, f, id, tok, p, lv, add)
  if not tok then return end
  local m = tok .. SEP .. id
  for _, part in ipairs(parts_of(lay, p, lv)) do
    if add then
      redis.call('ZADD', zkey(T, f, part), 0, m)
    else
      redis.call('ZREM', zkey(T, f, part), m)
    end
  end
end

local function index_eq(T, lay, f, id, v, p, lv, add)
  for _, part in ipairs(parts_of(lay, p, lv)) do
    if add then
      redis.call('ZADD', qkey(T, f, part, v), 0, id .. SEP .. id)
    else
      redis.call('ZREM', qkey(T, f, part, v), id .. SEP .. id)
      redis.call('SREM', ekey(T, f, part, v), id)
    end
  end
end

-- Adds or removes every index entry of record r under liveness lv. A sort entry is under
-- the record's token ('~s:<field>'), or, for a record that has none (one an older client
-- wrote before it kept the indexes a newer definition applied), the token of its value;
-- an equality entry is added under its value and removed from the value it was entered
-- under ('~e:<field>', else its value), which an older client may have left behind.
local function index_all(T, lay, id, r, lv, add)
  local p = r.projectId or 'null'
  for _, f in ipairs(lay.s) do
    index_sort(T, lay, f, id, r['~s:' .. f] or token_of(r[f]), p, lv, add)
  end
  for _, f in ipairs(lay.e) do
    local v = r[f] or 'null'
    if not add then v = r['~e:' .. f] or v end
    index_eq(T, lay, f, id, v, p, lv, add)
  end
end

-- The unique-value key of each constraint for record r, or false where a value is null.
local function unique_keys(T, lay, r)
  local keys = {}
  for i, u in ipairs(lay.u) do
    local vals = {}
    for _, f in ipairs(u) do
      local v = r[f] or 'null'
      if v == 'null' then
        vals = nil
        break
      end
      vals[#vals + 1] = v
    end
    keys[i] = vals and (T .. 'u:' .. table.concat(u, ',') .. ':' .. table.concat(vals, SEP)) or false
  end
  return keys
end

-- The indexes and unique constraints writes keep, from the schema key's JSON (decoded):
-- those applied and those an expand in progress is building (its 'expand' entry in state
-- 'build', see expand.lua), so that from the moment an expand begins every write enters
-- the record it writes in the new elements, and the expand's batches only have to enter
-- the records nobody wrote meanwhile. Returns indexes ({field, kind}) and uniques.
local function kept_elements(applied)
  local indexes, uniques = {}, {}
  local function append(to, list)
    for _, v in ipairs(type(list) == 'table' and list or {}) do to[#to + 1] = v end
  end
  append(indexes, applied.indexes)
  append(uniques, applied.uniques)
  local x = applied.expand
  if type(x) == 'table' and x.s == 'build' then
    append(indexes, x.indexes)
    append(uniques, x.uniques)
  end
  return indexes, uniques
end

-- Adds to the layout the indexes and unique constraints the schema key (T .. 'schema', see
-- schema_load) records as applied or being built (kept_elements) and the layout lacks:
-- those a newer definition's expand added, so that every write of a client of an older
-- definition keeps their entries too. A sort index goes to lay.s, an equality index (but
-- projectId's, which partitions) to lay.e, a unique constraint to lay.u, as expand.lua
-- enters them. `text` is the schema key's text when the caller read it already (false when
-- there is none, see schema_and_floor); nil reads it here. `known` is a schema text the
-- caller learned adds nothing to this layout (a write's reply gives it back, see
-- update.lua): while the key holds that very text, nothing is decoded (about an eighth of
-- an update's time on the server). Returns lay, and the text when it added nothing to lay
-- and is not `known` (nil otherwise): what the caller can send as `known` from then on.
local function with_applied(T, lay, text, known)
  if text == nil then text = redis.call('GET', T .. 'schema') end
  if not text or text == known then return lay, nil end
  local size = #lay.s + #lay.e + #lay.u
  local indexes, uniques = kept_elements(cjson.decode(text))
  -- Each element is looked for in the layout's short lists by name (interned strings, so
  -- each comparison is one pointer compare), not by a name built per element.
  local function has(list, f)
    for _, x in ipairs(list) do
      if x == f then return true end
    end
    return false
  end
  for _, i in ipairs(indexes) do
    if i.kind == 'sort' then
      if not has(lay.s, i.field) then lay.s[#lay.s + 1] = i.field end
    elseif i.field ~= 'projectId' and not has(lay.e, i.field) then
      lay.e[#lay.e + 1] = i.field
    end
  end
  for _, u in ipairs(uniques) do
    local found = false
    for _, w in ipairs(lay.u) do
      if #w == #u then
        found = true
        for k = 1, #u do
          if w[k] ~= u[k] then
            found = false
            break
          end
        end
        if found then break end
      end
    end
    if not found then lay.u[#lay.u + 1] = u end
  end
  if #lay.s + #lay.e + #lay.u == size then return lay, text end
  return lay, nil
end

-- Each object version's ids are a sorted set, T .. 'vz:' .. v (score 0, so ordered by the
-- id's bytes: code point order, as cmp), which scan-version.lua pages from a cursor in
-- O(log N + page) and versions.lua counts with ZCARD. Stores written before kept a plain
-- set, T .. 'v:' .. v: a write removes an id from both, adds it to the sorted set only, and
-- convert-version.lua moves what is left of the old set in batches (see scanVersion).
local function vkey(T, v) return T .. 'vz:' .. v end

local function version_add(T, v, id)
  redis.call('ZADD', vkey(T, v), 0, id)
  redis.call('SADD', T .. 'versions', v)
end

local function version_rem(T, v, id)
  redis.call('ZREM', vkey(T, v), id)
  redis.call('SREM', T .. 'v:' .. v, id)
  if redis.call('ZCARD', vkey(T, v)) == 0 and redis.call('SCARD', T .. 'v:' .. v) == 0 then
    redis.call('SREM', T .. 'versions', v)
  end
end

local function deleted_member(r, id)
  return string.sub(r.deletedAt, 2, -2) .. SEP .. id
end

-- Removes record r (id) and every index entry of it.
local function remove(T, lay, id, r)
  local lv = (r.deletedAt or 'null') == 'null' and 'l' or 'd'
  index_all(T, lay, id, r, lv, false)
  if lv == 'l' then
    for _, k in ipairs(unique_keys(T, lay, r)) do
      if k and redis.call('GET', k) == id then redis.call('DEL', k) end
    end
  else
    redis.call('ZREM', T .. 'deleted', deleted_member(r, id))
  end
  if r.objectVersion then version_rem(T, r.objectVersion, id) end
  redis.call('DEL', rkey(T, id), wkey(T, id))
end

-- Whether object version a is older than b: compared part by part ('major.minor') as
-- numbers, so 1.10 is newer than 1.9; a part that is not a number compares by bytes, a
-- missing part counts as 0.
local function version_older(a, b)
  local pa, pb = {}, {}
  for part in string.gmatch(a, '[^.]+') do pa[#pa + 1] = part end
  for part in string.gmatch(b, '[^.]+') do pb[#pb + 1] = part end
  for k = 1, math.max(#pa, #pb) do
    local x, y = pa[k] or '0', pb[k] or '0'
    local nx, ny = tonumber(x), tonumber(y)
    local c
    if nx and ny then
      c = nx < ny and -1 or (nx > ny and 1 or 0)
    else
      c = cmp(x, y)
    end
    if c ~= 0 then return c < 0 end
  end
  return false
end

-- The write floor of a live upgrade (T .. 'floor', a version text set by set-floor.lua):
-- the refusal, as an error reply, of a write that would leave a record at object version
-- `version` (its JSON text) below it; nil when there is no floor or the version is not
-- below it. Read in the writing script itself, so the check and the write are one atomic
-- step and a floor raised meanwhile is never missed. The reply is
-- 'BELOWPIN <resource> <floor> <version>' (errors.ts maps it to WriteBelowPinError).
-- `floor` is the floor's text when the caller read it already (false when there is none,
-- see schema_and_floor); nil reads it here.
local function below_floor(T, lay, version, floor)
  if floor == nil then floor = redis.call('GET', T .. 'floor') end
  if not floor or not version then return nil end
  local v = cjson.decode(version)
  if type(v) ~= 'string' or not version_older(v, floor) then return nil end
  return redis.error_reply('BELOWPIN ' .. tostring(lay.n or T) .. ' ' .. floor .. ' ' .. v)
end

-- The texts of the schema key and of the write floor (false where missing), in one MGET
-- instead of a GET each: what insert and update read before they write (with_applied,
-- below_floor).
local function schema_and_floor(T)
  local v = redis.call('MGET', T .. 'schema', T .. 'floor')
  return v[1], v[2]
end

-- Inserts a record given as a flat field/value list. Returns nil, or an error reply
-- (a refusal below the write floor, see below_floor, is an error reply too). `floor` as
-- below_floor's.
local function insert(T, lay, id, flat, floor)
  local key = rkey(T, id)
  if redis.call('EXISTS', key) == 1 then return { 'duplicate', 'id' } end
  local r = {}
  for i = 1, #flat, 2 do r[flat[i]] = flat[i + 1] end
  local refused = below_floor(T, lay, r.objectVersion, floor)
  if refused then return refused end
  -- A sort field of the applied indexes the caller does not sort by comes without its
  -- token: it gets the one its value has (token_of, layout.ts sortToken's encoding).
  for _, f in ipairs(lay.s) do
    if not r['~s:' .. f] then
      local tok = token_of(r[f])
      if tok then
        r['~s:' .. f] = tok
        flat[#flat + 1] = '~s:' .. f
        flat[#flat + 1] = tok
      end
    end
  end
  local live = (r.deletedAt or 'null') == 'null'
  local uk = live and unique_keys(T, lay, r) or {}
  for i, k in ipairs(uk) do
    if k and redis.call('EXISTS', k) == 1 then return { 'duplicate', table.concat(lay.u[i], ',') } end
  end
  -- Remember what the entries are entered under ('~e:' and '~u:' fields), so a rewrite
  -- finds them even after a client that does not know an element changed the record.
  for _, f in ipairs(lay.e) do
    flat[#flat + 1] = '~e:' .. f
    flat[#flat + 1] = r[f] or 'null'
  end
  for i, k in ipairs(uk) do
    if k then
      flat[#flat + 1] = '~u:' .. table.concat(lay.u[i], ',')
      flat[#flat + 1] = k
    end
  end
  redis.call('HSET', key, unpack(flat))
  save_row(T, id, r)
  index_all(T, lay, id, r, live and 'l' or 'd', true)
  for _, k in ipairs(uk) do
    if k then redis.call('SET', k, id) end
  end
  if not live then redis.call('ZADD', T .. 'deleted', 0, deleted_member(r, id)) end
  version_add(T, r.objectVersion, id)
  return nil
end

-- Whether record r is visible to a write scope ('' = any project, else a project JSON).
local function writable(r, scope)
  return r.deletedAt == 'null' and (scope == '' or r.projectId == scope)
end

-- Reads a list of partitions from ARGV at i: count, then each. Returns parts, next i.
local function read_parts(i)
  local n = tonumber(ARGV[i])
  local parts = {}
  for k = 1, n do parts[k] = ARGV[i + k] end
  return parts, i + n + 1
end

-- Reads the predicates from ARGV at i. Each is: kind, field, src, then for 'e' (equality
-- on JSON texts) and 'v' (equality on sort tokens) a count and the values, for 'r' (range
-- of sorted-set members) lo and hi bounds. Returns preds, next i.
local function read_preds(i)
  local n = tonumber(ARGV[i])
  i = i + 1
  local preds = {}
  for k = 1, n do
    local p = { kind = ARGV[i], f = ARGV[i + 1], src = ARGV[i + 2] == '1' }
    i = i + 3
    if p.kind == 'r' then
      p.lo, p.hi = ARGV[i], ARGV[i + 1]
      i = i + 2
    else
      local c = tonumber(ARGV[i])
      p.values, p.set = {}, {}
      for j = 1, c do
        p.values[j] = ARGV[i + j]
        p.set[ARGV[i + j]] = true
      end
      i = i + c + 1
    end
    p.col = p.kind == 'e' and p.f or ('~s:' .. p.f)
    preds[k] = p
  end
  return preds, i
end

-- How many records of the partitions a predicate's own index holds, and how many of them
-- an equality predicate's legacy sets (ekey) hold.
local function source_size(T, parts, p)
  local n, old = 0, 0
  for _, part in ipairs(parts) do
    if p.kind == 'e' then
      for _, v in ipairs(p.values) do
        local o = redis.call('SCARD', ekey(T, p.f, part, v))
        n = n + redis.call('ZCARD', qkey(T, p.f, part, v)) + o
        old = old + o
      end
    elseif p.kind == 'v' then
      for _, t in ipairs(p.values) do
        n = n + redis.call('ZLEXCOUNT', zkey(T, p.f, part), '[' .. t .. SEP, '[' .. t .. SEP .. '\255')
      end
    else
      n = n + redis.call('ZLEXCOUNT', zkey(T, p.f, part), p.lo, p.hi)
    end
  end
  return n, old
end

-- The ids a predicate's own index holds for the partitions.
local function source_ids(T, parts, p)
  local ids = {}
  for _, part in ipairs(parts) do
    if p.kind == 'e' then
      for _, v in ipairs(p.values) do
        for _, m in ipairs(redis.call('ZRANGE', qkey(T, p.f, part, v), 0, -1)) do ids[#ids + 1] = eq_id(m) end
        for _, id in ipairs(redis.call('SMEMBERS', ekey(T, p.f, part, v))) do ids[#ids + 1] = id end
      end
    else
      local ranges = {}
      if p.kind == 'v' then
        for _, t in ipairs(p.values) do ranges[#ranges + 1] = { '[' .. t .. SEP, '[' .. t .. SEP .. '\255' } end
      else
        ranges[1] = { p.lo, p.hi }
      end
      for _, rg in ipairs(ranges) do
        for _, m in ipairs(redis.call('ZRANGEBYLEX', zkey(T, p.f, part), rg[1], rg[2])) do
          ids[#ids + 1] = member_id(m)
        end
      end
    end
  end
  return ids
end

-- The columns (hash fields) the predicates but `skip` read (and `extra`), in a list and by
-- name -> position. The predicate a script takes its candidates from needs no check.
local function columns(preds, extra, skip)
  local cols, pos = {}, {}
  local function add(c)
    if not pos[c] then
      cols[#cols + 1] = c
      pos[c] = #cols
    end
  end
  if extra then add(extra) end
  for _, p in ipairs(preds) do
    if p ~= skip then add(p.col) end
  end
  return cols, pos
end

-- The values of the columns `cols` of record `id` (false where missing). HGET where there
-- is one column: its reply is a string, not a table, which costs less to build.
local function read_columns(T, id, cols)
  if #cols == 1 then return { redis.call('HGET', rkey(T, id), cols[1]) } end
  return redis.call('HMGET', rkey(T, id), unpack(cols))
end

-- Whether a record's column values (from HMGET) satisfy every predicate but `skip`.
local function matches(preds, skip, vals, pos, id)
  for _, p in ipairs(preds) do
    if p ~= skip then
      local v = vals[pos[p.col]]
      if p.kind == 'e' then
        if not p.set[v or 'null'] then return false end
      elseif not v then
        return false
      elseif p.kind == 'v' then
        if not p.set[v] then return false end
      elseif not within(v .. SEP .. id, p.lo, p.hi) then
        return false
      end
    end
  end
  return true
end

-- Reads the names of the fields a reply carries from ARGV at i: '-' for BOUND_NAMES, else
-- count, then each ('id' first). Returns names, next i.
local function read_names(i)
  if ARGV[i] == '-' then
    if not BOUND_NAMES then error({ err = 'ERR polystore: no field names are bound in this script' }) end
    return BOUND_NAMES, i + 1
  end
  local n = tonumber(ARGV[i])
  local names = {}
  for k = 1, n do names[k] = ARGV[i + k] end
  return names, i + n + 1
end

-- Sorts sorted-set members in place by their bytes, descending when `desc`: with Lua's own
-- '<' (in C, no comparator call per comparison) when it is byte order, else with cmp.
-- Members already in ascending order (`ascending`) are only reversed for `desc`.
local function sort_members(rows, desc, ascending)
  if ascending or lt_is_bytewise() then
    if not ascending then table.sort(rows) end
    if desc then
      local i, j = 1, #rows
      while i < j do
        rows[i], rows[j] = rows[j], rows[i]
        i, j = i + 1, j - 1
      end
    end
  elseif desc then
    table.sort(rows, function(a, b) return cmp(a, b) > 0 end)
  else
    table.sort(rows, function(a, b) return cmp(a, b) < 0 end)
  end
end

-- The smallest predicate index for the partitions, its size (nil when none has one) and
-- how many of its ids are in legacy sets (see qkey).
local function best_source(T, parts, preds)
  local best, size, old = nil, nil, 0
  for _, p in ipairs(preds) do
    if p.src then
      local n, o = source_size(T, parts, p)
      if size == nil or n < size then best, size, old = p, n, o end
    end
  end
  return best, size, old
end

-- Whether record r meets a conditional write's conditions: its revision is `exprev` ('' for
-- none) and each expected field holds one of its listed values. The expected values are
-- read from ARGV at `at`: a count (nil for none), then for each field its name, the count of
-- its values and their JSON texts. Returns the verdict and the ARGV position after them.
-- This is the Lua twin of core's meetsConditions (packages/core/src/conditions.ts) and must
-- agree with it: where core compares values with sameValue, this compares the JSON texts
-- the driver writes both sides as (expectedArgs, layout.ts encode); the conformance suite's
-- conditional writes check that the two agree.
local function meets_conditions(r, exprev, at)
  local ok = exprev == '' or r.revision == exprev
  local i = at + 1
  for _ = 1, tonumber(ARGV[at] or '0') do
    local f, c = ARGV[i], tonumber(ARGV[i + 1])
    local cur, hit = r[f] or 'null', false
    for k = i + 2, i + 1 + c do
      if ARGV[k] == cur then hit = true end
    end
    if not hit then ok = false end
    i = i + 2 + c
  end
  return ok, i
end

-- Schema evolution (expand, contract, rewrite). The applied elements of a resource are one
-- string key, T .. 'schema': JSON { fields = {names}, indexes = {{field, kind}},
-- uniques = {{names}} } (see applied-elements.ts). A record also keeps, in hidden fields,
-- what expand and rewrite entered it under: '~e:<field>' (the value of its equality index entry) and
-- '~u:<f1,f2>' (a unique key), so a later rewrite finds entries an older client left stale.
--
-- The applied elements recorded at skey, or `base` (a JSON text) when none are.
local function schema_load(skey, base)
  local a = cjson.decode(redis.call('GET', skey) or base)
  a.fields, a.indexes, a.uniques = a.fields or {}, a.indexes or {}, a.uniques or {}
  return a
end

-- The write-only fields to record (see applied-elements.ts, core's pendingAfter): those
-- of the lists a and b (either may be nil) that are applied fields and not in published,
-- each once; nil when none, so that the schema key's JSON leaves the key out.
local function pending_after(fields, a, b, published)
  local known, gone, seen, out = {}, {}, {}, {}
  for _, f in ipairs(fields) do known[f] = true end
  for _, f in ipairs(published or {}) do gone[f] = true end
  for _, list in ipairs({ a or {}, b or {} }) do
    for _, f in ipairs(list) do
      if known[f] and not gone[f] and not seen[f] then
        seen[f] = true
        out[#out + 1] = f
      end
    end
  end
  if #out == 0 then return nil end
  return out
end

-- The unique key of constraint u (a list of field names) for record r, or false when a value is null.
local function unique_key(T, u, r)
  local vals = {}
  for _, f in ipairs(u) do
    local v = r[f] or 'null'
    if v == 'null' then return false end
    vals[#vals + 1] = v
  end
  return T .. 'u:' .. table.concat(u, ',') .. ':' .. table.concat(vals, SEP)
end

-- The glob pattern of every key whose name starts with `prefix` (glob characters escaped).
local function prefix_pattern(prefix)
  return (string.gsub(prefix, '[%*%?%[%]\\]', '\\%0')) .. '*'
end

-- The ids of the next `batch` records of the resource at T, live and soft-deleted, from the
-- cursor `cur` ({ part = 'l' | 'd', at }: the id index's live partition, then its deleted
-- one, from `at`, '-' at first), which it moves on. Returns the ids and whether the walk is
-- through (after these ids). Every record that exists throughout a walk is among its ids at
-- least once (one soft-deleted meanwhile may come from both partitions).
local function id_walk_step(T, cur, batch)
  local members = redis.call('ZRANGEBYLEX', zkey(T, 'id', cur.part .. ':*'), cur.at, '+', 'LIMIT', 0, batch)
  local ids = {}
  -- The id index's members are '<id>\0<id>': the id is the first half (even one with a NUL).
  for _, mem in ipairs(members) do ids[#ids + 1] = string.sub(mem, 1, (#mem - 1) / 2) end
  if #members == batch then
    cur.at = '(' .. members[#members]
  elseif cur.part == 'l' then
    cur.part, cur.at = 'd', '-'
  else
    return ids, true
  end
  return ids, false
end

-- One step of unlinking every key of some indexes ({field, kind}) and unique constraints
-- (field lists) of the resource at T, stale keys included: SCAN calls from `cursor` over the
-- keys under T, `batch` at a time and at most 4 x `batch` looked at, and UNLINK of those
-- under one of the elements' prefixes (a big sorted set is freed off the main thread).
-- Returns the next cursor, '0' when the scan is through. SCAN returns every key that exists
-- for the whole scan, so no key is missed that writes stopped adding before it began.
local function unlink_elements_step(T, indexes, uniques, cursor, batch)
  local prefixes = {}
  for _, i in ipairs(indexes) do
    if i.kind == 'sort' then
      prefixes[#prefixes + 1] = T .. 'z:' .. i.field .. ':'
    else
      prefixes[#prefixes + 1] = T .. 'q:' .. i.field .. ':'
      prefixes[#prefixes + 1] = T .. 'e:' .. i.field .. ':'
    end
  end
  for _, u in ipairs(uniques) do prefixes[#prefixes + 1] = T .. 'u:' .. table.concat(u, ',') .. ':' end
  if #prefixes == 0 then return '0' end
  local looked = 0
  repeat
    local got = redis.call('SCAN', cursor, 'MATCH', prefix_pattern(T), 'COUNT', batch)
    cursor = got[1]
    for _, k in ipairs(got[2]) do
      for _, pre in ipairs(prefixes) do
        if string.sub(k, 1, #pre) == pre then
          redis.call('UNLINK', k)
          break
        end
      end
    end
    looked = looked + batch
  until cursor == '0' or looked >= batch * 4
  return cursor
end

-- Every element a rewrite makes a record's entries match: the layout's sort and equality
-- indexes and unique constraints, and those the schema key (`schema_key`) records as
-- applied or an expand in progress is building (kept_elements).
local function rewrite_elements(lay, schema_key)
  local els, seen = { sorts = {}, eqs = {}, uniques = {} }, {}
  local function add(list, name, v)
    if not seen[name] then
      seen[name] = true
      list[#list + 1] = v
    end
  end
  for _, f in ipairs(lay.s) do add(els.sorts, 's:' .. f, f) end
  for _, f in ipairs(lay.e) do add(els.eqs, 'e:' .. f, f) end
  for _, u in ipairs(lay.u) do add(els.uniques, 'u:' .. table.concat(u, ','), u) end
  local text = redis.call('GET', schema_key)
  if text then
    local indexes, uniques = kept_elements(cjson.decode(text))
    for _, i in ipairs(indexes) do
      if i.kind == 'sort' then
        add(els.sorts, 's:' .. i.field, i.field)
      elseif i.field ~= 'projectId' then
        add(els.eqs, 'e:' .. i.field, i.field)
      end
    end
    for _, u in ipairs(uniques) do add(els.uniques, 'u:' .. table.concat(u, ','), u) end
  end
  return els
end

-- The unique constraint (its fields) whose key the new record `n` of `id` would take from
-- another live record that still holds those values, or nil. A key whose holder is gone,
-- deleted or holds other values is stale: no clash.
local function rewrite_clash(T, els, id, n)
  if (n.deletedAt or 'null') ~= 'null' then return nil end
  for _, u in ipairs(els.uniques) do
    local k = unique_key(T, u, n)
    local holder = k and redis.call('GET', k)
    if holder and holder ~= id then
      local h = load(rkey(T, holder))
      if h and h.deletedAt == 'null' and unique_key(T, u, h) == k then return u end
    end
  end
  return nil
end

-- Replaces the stored record `r` of `id` (at `key`) with the hash `flat` (`n` as a table),
-- removing every entry the old record may have (under its old values, under the values
-- expand or an earlier rewrite entered, in both livenesses when it is soft-deleted) and entering the new one in
-- every element of `els`. `n` gets the entry fields it was stored with. The entries to
-- remove and to add are gathered first: one both removed and added (what a migrate leaves
-- as it was: the id, createdAt, unchanged values) is only added, each distinct entry once,
-- and the hash is written in one HSET, so a rewrite costs about half the commands.
local function rewrite_stored(T, lay, els, key, id, r, flat, n)
  local rem, add = {}, {}
  local function note(t, cmd, k, m)
    local e = t[k]
    if not e then
      e = { cmd = cmd, m = {} }
      t[k] = e
    end
    e.m[m] = true
  end
  local p = r.projectId or 'null'
  -- A soft-deleted record may have entries in both livenesses (an older client's soft
  -- delete left those of the elements it did not know in the live partitions); a live one
  -- never was in the deleted partitions (nothing undeletes).
  local was = (r.deletedAt or 'null') == 'null' and { 'l' } or { 'l', 'd' }
  for _, lv in ipairs(was) do
    for _, part in ipairs(parts_of(lay, p, lv)) do
      for _, f in ipairs(els.sorts) do
        local tok, entered = token_of(r[f]), r['~s:' .. f]
        if tok then note(rem, 'ZREM', zkey(T, f, part), tok .. SEP .. id) end
        if entered then note(rem, 'ZREM', zkey(T, f, part), entered .. SEP .. id) end
      end
      for _, f in ipairs(els.eqs) do
        for _, v in ipairs({ r[f] or 'null', r['~e:' .. f] or false }) do
          if v then
            note(rem, 'ZREM', qkey(T, f, part, v), id .. SEP .. id)
            note(rem, 'SREM', ekey(T, f, part, v), id)
          end
        end
      end
    end
  end

  local live = (n.deletedAt or 'null') == 'null'
  local np, lv = n.projectId or 'null', live and 'l' or 'd'
  local nparts = parts_of(lay, np, lv)
  for _, f in ipairs(els.sorts) do
    local tok = n['~s:' .. f] or token_of(n[f])
    if tok then
      n['~s:' .. f] = tok
      for _, part in ipairs(nparts) do note(add, 'ZADD', zkey(T, f, part), tok .. SEP .. id) end
    end
  end
  for _, f in ipairs(els.eqs) do
    local v = n[f] or 'null'
    n['~e:' .. f] = v
    for _, part in ipairs(nparts) do note(add, 'ZADD', qkey(T, f, part, v), id .. SEP .. id) end
  end

  for k, e in pairs(rem) do
    local a, ms = add[k], {}
    for m in pairs(e.m) do
      if not (a and a.m[m]) then ms[#ms + 1] = m end
    end
    if #ms > 0 then redis.call(e.cmd, k, unpack(ms)) end
  end
  for k, e in pairs(add) do
    local ms = {}
    for m in pairs(e.m) do
      if e.cmd == 'ZADD' then ms[#ms + 1] = 0 end
      ms[#ms + 1] = m
    end
    redis.call(e.cmd, k, unpack(ms))
  end

  for _, u in ipairs(els.uniques) do
    local name = table.concat(u, ',')
    local nk = live and unique_key(T, u, n)
    for _, k in ipairs({ unique_key(T, u, r), r['~u:' .. name] or false }) do
      if k and k ~= nk and redis.call('GET', k) == id then redis.call('DEL', k) end
    end
    if nk then
      redis.call('SET', nk, id)
      n['~u:' .. name] = nk
    end
  end
  if (r.deletedAt or 'null') ~= 'null' then redis.call('ZREM', T .. 'deleted', deleted_member(r, id)) end
  if not live then redis.call('ZADD', T .. 'deleted', 0, deleted_member(n, id)) end
  if r.objectVersion then version_rem(T, r.objectVersion, id) end
  version_add(T, n.objectVersion, id)

  redis.call('DEL', key)
  redis.call('HSET', key, unpack(flatten(n)))
  save_row(T, id, n)
end
