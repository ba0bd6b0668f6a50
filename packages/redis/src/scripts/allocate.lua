-- Allocates an address of a network and inserts the fixed IP, atomically: the network must
-- be visible; a requested address must be usable and free, else the lowest free usable
-- address is taken (never the network, broadcast or gateway address).
-- KEYS[1] the new fixed IP's record key. ARGV: network key base, fixed IP key base, fixed IP
-- layout, network id, requested address ('' for the lowest free), the network scope's
-- deleted mode ('no'|'yes'|'only'), key prefix of the (networkId, address) unique values,
-- key of the network's live fixed IP equality index (qkey), project count (0 for every project), projects (JSON),
-- fixed IP id, then the fixed IP hash (its address null: the script sets it) as
-- field/value pairs.
-- Reply: {'ok', address} | {'network-not-found'} | {'refused', cidr JSON, gateway JSON}
-- (the requested address is unusable or taken, or no address is free: the caller names the
-- error by core's rule) | {'duplicate', 'id' | the constraint's fields as 'f1,f2'}.
local TN, TF, lay, netId, want, deleted = ARGV[1], ARGV[2], cjson.decode(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
lay = with_applied(TF, lay)
local takenPrefix, liveSet = ARGV[7], ARGV[8]
local np = tonumber(ARGV[9])
local i = 10 + np
local id = ARGV[i]

local net = load(rkey(TN, netId))
if not net then return { 'network-not-found' } end
local dead = net.deletedAt ~= 'null'
if (deleted == 'no' and dead) or (deleted == 'only' and not dead) then return { 'network-not-found' } end
if np > 0 then
  local seen = false
  for k = 10, 9 + np do
    if net.projectId == ARGV[k] then seen = true end
  end
  if not seen then return { 'network-not-found' } end
end

-- Addresses as lists of 16-bit groups: 2 for IPv4, 8 for IPv6 (canonical texts only).
local function parse(s)
  if string.find(s, ':', 1, true) then
    local left, right = s, nil
    local dc = string.find(s, '::', 1, true)
    if dc then left, right = string.sub(s, 1, dc - 1), string.sub(s, dc + 2) end
    local l, r = {}, {}
    for g in string.gmatch(left, '[^:]+') do l[#l + 1] = tonumber(g, 16) end
    if right then
      for g in string.gmatch(right, '[^:]+') do r[#r + 1] = tonumber(g, 16) end
    end
    local out = {}
    for k = 1, 8 do out[k] = 0 end
    for k = 1, #l do out[k] = l[k] end
    for k = 1, #r do out[8 - #r + k] = r[k] end
    return out
  end
  local a, b, c, d = string.match(s, '^(%d+)%.(%d+)%.(%d+)%.(%d+)$')
  return { tonumber(a) * 256 + tonumber(b), tonumber(c) * 256 + tonumber(d) }
end

-- RFC 5952 text, as ipaddr.js toRFC5952String writes it: lowercase hex groups, the
-- longest run (leftmost on a tie) of two or more zero groups written as '::'.
local function format(g)
  if #g == 2 then
    return string.format('%d.%d.%d.%d', math.floor(g[1] / 256), g[1] % 256, math.floor(g[2] / 256), g[2] % 256)
  end
  local bestAt, bestLen, k = 0, 1, 1
  while k <= 8 do
    if g[k] == 0 then
      local j = k
      while j <= 8 and g[j] == 0 do j = j + 1 end
      if j - k > bestLen then bestAt, bestLen = k, j - k end
      k = j
    else
      k = k + 1
    end
  end
  local hex = {}
  for x = 1, 8 do hex[x] = string.format('%x', g[x]) end
  if bestAt == 0 then return table.concat(hex, ':') end
  return table.concat(hex, ':', 1, bestAt - 1) .. '::' .. table.concat(hex, ':', bestAt + bestLen, 8)
end

local function compare(a, b)
  for k = 1, #a do
    if a[k] ~= b[k] then return a[k] < b[k] and -1 or 1 end
  end
  return 0
end

local function increment(g)
  local out = {}
  for k = 1, #g do out[k] = g[k] end
  for k = #out, 1, -1 do
    out[k] = out[k] + 1
    if out[k] < 65536 then return out end
    out[k] = 0
  end
  return out
end

local cidr = string.sub(net.cidr, 2, -2)
local gateway = net.gateway ~= 'null' and string.sub(net.gateway, 2, -2) or nil
local slash = string.find(cidr, '/', 1, true)
local base = parse(string.sub(cidr, 1, slash - 1))
local prefix = tonumber(string.sub(cidr, slash + 1))
local v4 = #base == 2
-- The highest address of the network (all host bits set).
local top = {}
for k = 1, #base do
  local covered = math.min(math.max(prefix - 16 * (k - 1), 0), 16)
  top[k] = base[k] + 2 ^ (16 - covered) - 1
end

local function inside(a)
  if #a ~= #base then return false end
  for k = 1, #base do
    local covered = math.min(math.max(prefix - 16 * (k - 1), 0), 16)
    local div = 2 ^ (16 - covered)
    if math.floor(a[k] / div) ~= math.floor(base[k] / div) then return false end
  end
  return true
end

-- Usable: inside, not the network address, not the IPv4 broadcast address (the gateway is
-- checked by text).
local function usable(a)
  return inside(a) and compare(a, base) ~= 0 and not (v4 and compare(a, top) == 0)
end

local function taken(text)
  return redis.call('EXISTS', takenPrefix .. '"' .. text .. '"') == 1
end

local address
if want ~= '' then
  if not (usable(parse(want)) and want ~= gateway) or taken(want) then return { 'refused', net.cidr, net.gateway } end
  address = want
else
  local size = 2 ^ (#base * 16 - prefix)
  local free = size - (v4 and 2 or 1)
  if gateway and usable(parse(gateway)) then free = free - 1 end
  local live = eq_size(TF, liveSet)
  if live >= free then return { 'refused', net.cidr, net.gateway } end
  -- At most `live` usable addresses are taken, so one of the first live + 2 candidates is free.
  local cand = increment(base)
  for _ = 1, live + 2 do
    if v4 and compare(cand, top) >= 0 or compare(cand, top) > 0 then break end
    local text = format(cand)
    if text ~= gateway and not taken(text) then
      address = text
      break
    end
    cand = increment(cand)
  end
  if not address then return { 'refused', net.cidr, net.gateway } end
end

local flat = {}
for k = i + 1, #ARGV do flat[#flat + 1] = ARGV[k] end
for k = 1, #flat, 2 do
  if flat[k] == 'address' then flat[k + 1] = '"' .. address .. '"' end
end
local err = insert(TF, lay, id, flat)
if err then return err end
return { 'ok', address }
