-- read_availability.lua: everything an availability answer needs, in one round trip.
-- @include _access.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'bookings'
-- KEYS[3] P..'agent:<agent_id>' (its key, scope and token bucket: _access.lua)
-- KEYS[4] P..'connectors' (only counted: the server skips the freshness read without any)
-- KEYS[5..4+n] P..'day:<N>' for each UTC day the query (plus buffers, plus whole local
--              days when a daily cap is set) touches
-- ARGV[1] SHA-256 of the caller's API key ('' = the owner)  ARGV[2] scope
-- ARGV[3] JSON {rate, burst} default limits  ARGV[4] the caller's agent_id
-- ARGV[5+2i], ARGV[6+2i] the first and last (inclusive) bucket field of day i that
--              can decide a slot: a whole day is read with HVALS, a part (a
--              neighbouring day's one bucket) with HMGET of its fields only
-- Returns JSON {r='ok', now, rules_version, timezone, rules, connectors (how many),
--   live = flat array, 4 numbers per live booking in the part-day spans:
--     cover_first, cover_last (exclusive bucket), kind, start_ms
--   where kind 0 = commit, 1 = another agent's live hold, 2 = the caller's own live hold,
--   3 = an external event pulled from the owner's real calendar;
--   ids = the booking id of each entry of live, in order;
--   and, not in the JSON but as the reply's further elements (an array reply: the JSON
--   first), days = for each whole UTC day, the JSON text of its bookings that were
--   live when it was cached, 7 values each: id, cover_first, cover_last, class (0 commit,
--     1 hold, 3 external), start_ms, the hold's expires_ms (0 otherwise) and the hold's
--     agent_id ('' otherwise). The caller drops the holds that have expired since,
--     tells its own holds from others' and the bookings already in live (one that
--     crosses midnight is in two days), see coordinator/availability.py live_bookings}
--   | {r='error', error='owner_unknown'|'unauthorized'|'insufficient_scope'|'rate_limited'}
-- Cost: a whole day is one GET of its cache, P..'avc:'..N, while the cache's stamp
-- is current: the owner's audit_n, which every audited write moves (old versions'
-- too), and P..'avgen', which tx_finish bumps for a write without an audit entry to a
-- bucket map, a record or an external block. Otherwise one HVALS of the day and one
-- HMGET of the distinct bookings it names (and one of their external blocks), and the
-- day is cached again for ten minutes (which bounds what idle days hold). A part of a
-- day is read the second way, uncached. Bookings outside those buckets are never read,
-- however many the calendar holds. Writes only the token and the cache.
-- Bind KEYS and ARGV to names (coordinator/store/calls.py packs them in this order).
local owner_key, bookings_key, agent_key = KEYS[1], KEYS[2], KEYS[3]
local connectors_key = KEYS[4]
local key_hash, scope, limits_json, caller = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local P = prefix_of(owner_key)
local tx = tx_new(P, now_ms())
local now = tx.now
local refused = tx_authorize(tx, agent_key, key_hash, scope, cjson.decode(limits_json))
if refused then return tx_finish(tx, refused) end
local o = redis.call('HMGET', owner_key, 'user_id', 'rules_version', 'timezone', 'rules',
  'audit_n')
if not o[1] then return tx_finish(tx, { r = 'error', error = 'owner_unknown' }) end
fault('opened')
local me = caller
local stamp = (redis.call('GET', P .. 'avgen') or '0') .. ':' .. (o[5] or '0') .. '|'
local CACHE_MS = 600000

-- What decides whether one occupant blocks a slot, read off its stored record without
-- expanding it (expand_booking built ~25 fields to use these): cover_first,
-- cover_last, class (0 commit, 1 hold), start_ms, the hold's expires_ms and agent_id;
-- nil for a booking that ended or a hold that expired. The rules are expand_booking's
-- and is_live's, field for field; a record in the long form (written before the
-- compact one) goes through them.
local function facts(id, raw)
  local o = cjson.decode(raw)
  local status, first, last, start, agent, expires
  if o.agent_id then
    local rec = expand_booking(id, o)
    if not is_live(rec, now) then return nil end
    first, last, status, start, agent = rec.cover_first, rec.cover_last, rec.status,
      rec.start_ms, rec.agent_id
    expires = rec.expires_ms
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
  if status == 'HOLD' then return first, last, 1, start, expires, agent end
  return first, last, 0, start, 0, ''
end

-- The booking ids in day i's buckets first..last (nil entries for empty buckets).
local function occupants(i, first, last)
  if first == 0 and last == BUCKETS_PER_DAY - 1 then return redis.call('HVALS', KEYS[i]) end
  local fields = {}
  for f = first, last do fields[#fields + 1] = ms(f) end
  return redis.call('HMGET', KEYS[i], unpack(fields))
end

-- Every distinct occupant of day i's buckets first..last that still blocks, appended
-- to `out` as 7 values: id, cover_first, cover_last, class, start_ms, expires_ms,
-- agent_id. Their records come in one HMGET per hash (bookings, connectors' external
-- blocks), not one HGET each.
local function each_live(i, first, last, seen, out)
  local fresh, ids, xids = {}, {}, {}
  local named = occupants(i, first, last)
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
  local bi, xi, n = 0, 0, #out
  for _, id in ipairs(fresh) do
    local f, l, class, s, x, a
    if string.sub(id, 1, 2) == 'x:' then
      -- connectors: an external busy block (see _external.lua), class 3
      xi = xi + 1
      local raw = exts[xi]
      if raw then
        local b = cjson.decode(raw)
        f, l, class, s, x, a = b.f, b.l, 3, b.s, 0, ''
      end
    else
      bi = bi + 1
      local raw = recs[bi]
      if raw then f, l, class, s, x, a = facts(id, raw) end
    end
    if f ~= nil then
      out[n + 1], out[n + 2], out[n + 3], out[n + 4] = id, f, l, class
      out[n + 5], out[n + 6], out[n + 7] = s, x, a
      n = n + 7
    end
  end
end

-- Parts of days: their live bookings straight into live/ids, kinds told apart here.
local seen, part, live, live_ids = {}, {}, {}, {}

-- A whole day: its cache while the stamp holds, else read, cached and returned.
local days = {}
local function whole_day(i, n)
  local key = P .. 'avc:' .. n
  local cached = redis.call('GET', key)
  if cached and string.sub(cached, 1, #stamp) == stamp then
    days[#days + 1] = string.sub(cached, #stamp + 1)
    return
  end
  local flat = {}
  each_live(i, 0, BUCKETS_PER_DAY - 1, {}, flat)
  local text = #flat > 0 and cjson.encode(flat) or '[]'
  tx_write(tx, { 'SET', key, stamp .. text, 'PX', CACHE_MS })
  days[#days + 1] = text
end

for i = 5, #KEYS do
  local first, last = tonumber(ARGV[5 + 2 * (i - 5)]), tonumber(ARGV[6 + 2 * (i - 5)])
  if first == 0 and last == BUCKETS_PER_DAY - 1 then
    whole_day(i, string.match(KEYS[i], ':day:(%d+)$'))
  else
    each_live(i, first, last, seen, part)
  end
end
for j = 1, #part, 7 do
  local class = part[j + 3]
  if class == 1 then class = (part[j + 6] == me) and 2 or 1 end
  live[#live + 1] = part[j + 1]
  live[#live + 1] = part[j + 2]
  live[#live + 1] = class
  live[#live + 1] = part[j + 4]
  live_ids[#live_ids + 1] = part[j]
end
local out = tx_finish(tx, { r = 'ok', now = now, rules_version = tonumber(o[2]) or 1,
  timezone = o[3] or 'UTC', rules = o[4] or '', live = live, ids = live_ids,
  connectors = redis.call('HLEN', connectors_key) })
-- The cached days go back as they are, after the JSON, not inside it: escaping a
-- day's text into the reply and hashing the longer reply was a tenth of a read's CPU.
if #days == 0 then return out end
return { out, unpack(days) }
