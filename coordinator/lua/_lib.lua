-- _lib.lua: helpers prepended to every transition script at load time.
--
-- Lua in Redis has no `require`, so coordinator/store/scripts.py concatenates
-- this file in front of each script. Nothing here runs on its own.
--
-- Key naming. Every key of one calendar shares the prefix "<ns>:{<user_id>}:"
-- so the hash tag puts them all in ONE Redis Cluster slot. Scripts receive
-- the owner key as KEYS[1] and derive the prefix from it; keys whose names are
-- only known inside the script (a victim's bucket days, its wake-up list,
-- its audit index) are built from that prefix and therefore share the slot.
--
-- Data model (per calendar, prefix P):
--   P..'owner'           hash   user_id, timezone, created_ms, arb_window_ms?, audit_head
--   P..'agents'          zset   agent_id -> priority (1 = best); live ranking
--   P..'agent:'..id      hash   agent record (name, scopes, status, key_hash, ...)
--   P..'bookings'        hash   booking_id -> JSON booking record (history kept)
--   P..'day:'..N         hash   5-minute bucket index within UTC day N -> booking_id
--   P..'audit'           stream hash-chained audit entries
--   P..'bkgaudit:'..id   list   audit entry ids that mention a booking
--   P..'wake:'..id       list   pushed when a booking still inside its arbitration
--                               window is displaced, to wake the waiting writer
--   P..'idem:'..agent..':'..key  string  JSON {h=request hash, ...}, TTL 24 h

if redis.replicate_commands then
  -- Redis 6.2 needs this before TIME/XADD * can precede writes; a no-op on 7.x.
  pcall(redis.replicate_commands)
end

local BUCKETS_PER_DAY = 288

local function prefix_of(owner_key)
  -- "ns:{usr_x}:owner" -> "ns:{usr_x}:"
  return string.sub(owner_key, 1, #owner_key - 5)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function ms(n)
  return string.format('%.0f', n)
end

local function load_booking(P, id)
  local raw = redis.call('HGET', P .. 'bookings', id)
  if not raw then return nil end
  return cjson.decode(raw)
end

local function save_booking(P, rec)
  redis.call('HSET', P .. 'bookings', rec.id, cjson.encode(rec))
end

-- Live priority: the agent's current rank wins over the one stored on the record,
-- so a re-rank takes effect on the next call without touching bookings.
local function live_priority(P, agent_id, fallback)
  local s = redis.call('ZSCORE', P .. 'agents', agent_id)
  if s then return tonumber(s) end
  return fallback
end

-- Remove every bucket field that still points at this booking.
local function clear_buckets(P, rec)
  local b = rec.cover_first
  while b < rec.cover_last do
    local day = math.floor(b / BUCKETS_PER_DAY)
    local key = P .. 'day:' .. ms(day)
    local field = ms(b % BUCKETS_PER_DAY)
    if redis.call('HGET', key, field) == rec.id then
      redis.call('HDEL', key, field)
    end
    b = b + 1
  end
end

-- Append one audit entry, chaining the hash of the previous one.
-- fields: flat array {k1, v1, k2, v2, ...} of strings; `booking_ids`: ids to index.
-- The hashed text is "<prev>\n" followed by "k=v\n" for each field in order,
-- then "prev=<prev>\n"; coordinator/audit.py recomputes exactly this.
local function audit(P, fields, booking_ids)
  local owner = P .. 'owner'
  local prev = redis.call('HGET', owner, 'audit_head') or 'genesis'
  local parts = { prev, '\n' }
  for i = 1, #fields, 2 do
    parts[#parts + 1] = fields[i] .. '=' .. fields[i + 1] .. '\n'
  end
  parts[#parts + 1] = 'prev=' .. prev .. '\n'
  local h = redis.sha1hex(table.concat(parts))
  local args = { 'XADD', P .. 'audit', '*' }
  for i = 1, #fields do args[#args + 1] = fields[i] end
  args[#args + 1] = 'prev'; args[#args + 1] = prev
  args[#args + 1] = 'hash'; args[#args + 1] = h
  local id = redis.call(unpack(args))
  redis.call('HSET', owner, 'audit_head', h)
  if booking_ids then
    for _, bid in ipairs(booking_ids) do
      if bid and bid ~= '' then
        redis.call('RPUSH', P .. 'bkgaudit:' .. bid, id)
      end
    end
  end
  return id
end

-- Webhook outbox: persisted by the same script as the change, and only while the
-- owner has endpoints registered (P..'hooks'), so a calendar without webhooks pays
-- one EXISTS. The dispatcher (coordinator/webhooks) delivers and acknowledges.
-- ``not_before_ms`` holds a commit back until its arbitration window has closed.
local ENDED_EVENTS = {
  EVICTED = 'booking.evicted', INVALIDATED = 'hold.invalidated',
  CANCELLED = 'booking.cancelled',
}

-- Does the owner have webhook endpoints? Callers ask before building an event, so a
-- calendar without webhooks pays one EXISTS and nothing else.
local function has_hooks(P)
  return redis.call('EXISTS', P .. 'hooks') == 1
end

-- Append one event to the calendar's outbox (the caller checked has_hooks). `data`
-- gets the event id (derived from the change's audit entry, so a receiver can dedupe)
-- and the owner; booking and proposal events both go through here.
local function outbox_add(P, event_type, audit_id, data, not_before_ms)
  local user = string.match(P, '{(.-)}')
  data.id = 'evt_' .. user .. '_' .. audit_id
  data.user_id = user
  data.audit_event_id = audit_id
  redis.call('XADD', P .. 'outbox', '*', 'id', data.id, 'type', event_type,
    'not_before_ms', ms(not_before_ms), 'data', cjson.encode(data))
end

local function emit(P, event_type, audit_id, rec, not_before_ms)
  if not has_hooks(P) then return end
  outbox_add(P, event_type, audit_id, {
    booking_id = rec.id, agent_id = rec.agent_id, priority = rec.priority,
    status = rec.status, mode = rec.mode, start_ms = rec.start_ms, end_ms = rec.end_ms,
    title = rec.title, ended_by_booking_id = rec.ended_by,
    ended_by_agent_id = rec.ended_by_agent_id, ended_by_priority = rec.ended_by_priority,
  }, not_before_ms)
end

local function is_live(rec, now)
  if rec.status == 'COMMITTED' then return true end
  if rec.status == 'HOLD' then return rec.expires_ms > now end
  return false
end

-- End a booking that left the calendar for a reason other than its own agent's
-- call (expiry, displacement): mark it, free its buckets, audit it.
local function end_booking(P, rec, status, now, extra, audit_type, audit_fields)
  rec.status = status
  rec.ended_ms = now
  if extra then for k, v in pairs(extra) do rec[k] = v end end
  clear_buckets(P, rec)
  local fields = {
    'type', audit_type, 'ts', ms(now), 'booking_id', rec.id, 'agent_id', rec.agent_id,
    'priority', ms(rec.priority), 'mode', rec.mode,
    'cover', ms(rec.cover_first) .. '-' .. ms(rec.cover_last),
  }
  if audit_fields then for i = 1, #audit_fields do fields[#fields + 1] = audit_fields[i] end end
  -- Index the entry under the booking that ended and the one that ended it, so
  -- both bookings' histories show the eviction.
  local aid = audit(P, fields, { rec.id, extra and extra.ended_by or nil })
  rec.end_audit_id = aid
  save_booking(P, rec)
  -- A booking displaced inside its arbitration window never won: nothing to announce.
  local event = ENDED_EVENTS[status]
  if event and not (extra and extra.lost_in_window) then
    emit(P, event, aid, rec, 0)
  end
  return aid
end


-- Is stream id a ("ms-seq") strictly before b? Compared as numbers, not text.
local function stream_id_before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  if am ~= bm then return am < bm end
  return as < bs
end
