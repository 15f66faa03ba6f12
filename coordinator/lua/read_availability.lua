-- read_availability.lua: everything an availability answer needs, in one round trip.
-- @include _access.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'bookings'
-- KEYS[3] P..'agent:<agent_id>'  KEYS[4] P..'rl:<agent_id>'
-- KEYS[5] P..'connectors' (only counted: the server skips the freshness read without any)
-- KEYS[6..5+n] P..'day:<N>' for each UTC day the query (plus buffers, plus whole local
--              days when a daily cap is set) touches
-- ARGV[1] SHA-256 of the caller's API key ('' = the owner)  ARGV[2] scope
-- ARGV[3] JSON {rate, burst} default limits  ARGV[4] the caller's agent_id
-- ARGV[5+2i], ARGV[6+2i] the first and last (inclusive) bucket field of day i that
--              can decide a slot: a whole day is read with HVALS, a part (a
--              neighbouring day's one bucket) with HMGET of its fields only
-- Returns JSON {r='ok', now, rules_version, timezone, rules, connectors (how many),
--   live = flat array, 4 numbers per live booking in those days:
--     cover_first, cover_last (exclusive bucket), kind, start_ms
--   where kind 0 = commit, 1 = another agent's live hold, 2 = the caller's own live hold,
--   3 = an external event pulled from the owner's real calendar}
--   | {r='error', error='owner_unknown'|'unauthorized'|'insufficient_scope'|'rate_limited'}
-- Cost: one HVALS per whole day (an HMGET of the fields of a part of one) and one HMGET
-- of the distinct bookings they name (and one of their external blocks); bookings
-- outside those buckets are never read, however many the calendar holds. Writes only
-- the token.
-- Bind KEYS and ARGV to names (coordinator/store/calls.py packs them in this order).
local owner_key, bookings_key, agent_key, rl_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local connectors_key = KEYS[5]
local key_hash, scope, limits_json, caller = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local P = prefix_of(owner_key)
local tx = tx_new(P, now_ms())
local now = tx.now
local refused = tx_authorize(tx, agent_key, rl_key, key_hash, scope, cjson.decode(limits_json))
if refused then return tx_finish(tx, refused) end
local o = redis.call('HMGET', owner_key, 'user_id', 'rules_version', 'timezone', 'rules')
if not o[1] then return tx_finish(tx, { r = 'error', error = 'owner_unknown' }) end
fault('opened')
local me = caller

-- The four numbers of one booking if it is live, read off the stored record without
-- expanding it (expand_booking built ~25 fields to use five: on a full day that was
-- most of this script's time). The rules are expand_booking's and is_live's, field for
-- field; a record in the long form (written before the compact one) goes through them.
local function glance(id, raw)
  local o = cjson.decode(raw)
  local first, last, status, start, agent, expires
  if o.agent_id then
    local rec = expand_booking(id, o)
    if not is_live(rec, now) then return nil end
    first, last, status, start, agent = rec.cover_first, rec.cover_last, rec.status,
      rec.start_ms, rec.agent_id
  else
    local hold = o.m == 'h'
    status = o.st or (hold and 'HOLD' or 'COMMITTED')
    if status == 'HOLD' then
      if hold then expires = o.c + (o.x or 0) else expires = o.X or 0 end
      if not (expires > now) then return nil end
    elseif status ~= 'COMMITTED' then
      return nil
    end
    start, agent = o.s, o.a
    if o.f then
      first, last = o.f, o.l
    else
      first, last = derived_cover(start, start + o.d, o.bb or 0, o.ba or 0)
    end
  end
  local kind = 0
  if status == 'HOLD' then kind = (agent == me) and 2 or 1 end
  return first, last, kind, start
end

local seen, live = {}, {}
local function add(f, l, kind, s)
  live[#live + 1] = f
  live[#live + 1] = l
  live[#live + 1] = kind
  live[#live + 1] = s
end
-- The booking ids in day i's buckets first..last (nil entries for empty buckets).
local function occupants(i)
  local first, last = tonumber(ARGV[5 + 2 * (i - 6)]), tonumber(ARGV[6 + 2 * (i - 6)])
  if first == 0 and last == BUCKETS_PER_DAY - 1 then return redis.call('HVALS', KEYS[i]) end
  local fields = {}
  for f = first, last do fields[#fields + 1] = ms(f) end
  return redis.call('HMGET', KEYS[i], unpack(fields))
end

for i = 6, #KEYS do
  -- The day's distinct ids in the order HVALS (HMGET) gives them; their records in one
  -- HMGET per hash (bookings, connectors' external blocks) instead of one HGET each.
  local fresh, ids, xids = {}, {}, {}
  local named = occupants(i)
  for j = 1, #named do
    local id = named[j]
    if id and not seen[id] then
      seen[id] = true
      fresh[#fresh + 1] = id
      if string.sub(id, 1, 2) == 'x:' then
        xids[#xids + 1] = string.sub(id, 3)
      else
        ids[#ids + 1] = id
      end
    end
  end
  local recs = #ids > 0 and redis.call('HMGET', bookings_key, unpack(ids)) or {}
  local exts = #xids > 0 and redis.call('HMGET', P .. 'ext', unpack(xids)) or {}
  local bi, xi = 0, 0
  for _, id in ipairs(fresh) do
    if string.sub(id, 1, 2) == 'x:' then
      -- connectors: an external busy block (see _external.lua), kind 3
      xi = xi + 1
      local raw = exts[xi]
      if raw then
        local x = cjson.decode(raw)
        add(x.f, x.l, 3, x.s)
      end
    else
      bi = bi + 1
      local raw = recs[bi]
      if raw then
        local f, l, kind, s = glance(id, raw)
        if f ~= nil then add(f, l, kind, s) end
      end
    end
  end
end
return tx_finish(tx, { r = 'ok', now = now, rules_version = tonumber(o[2]) or 1,
  timezone = o[3] or 'UTC', rules = o[4] or '', live = live,
  connectors = redis.call('HLEN', connectors_key) })
