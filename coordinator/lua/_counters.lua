-- _counters.lua: counter-offers on a booking, shared by counter_create/read/accept/reject.
--
-- A 409 is not a dead end: the losing agent offers the winning booking's agent 1-5
-- alternative slots and a note; that agent lists them and accepts one (counter_accept.lua
-- moves its booking there through the claim, in one atomic step) or rejects it.
--
-- Every counter script takes the same first KEYS and ARGV (coordinator/store/calls.py,
-- counter(), packs them):
--   KEYS[1] P..'owner'   KEYS[2] P..'bookings'   KEYS[3] P..'counters:<booking_id>'
--   KEYS[4] P..'agent:<caller>'   KEYS[5] P..'audit'
--   ARGV[1] SHA-256 of the caller's API key   ARGV[2] JSON {rate, burst} default limits
--   ARGV[3] caller agent_id   ARGV[4] booking id   ARGV[5] counter id ('' = all, read)
--   ARGV[6] JSON payload of the transition
-- counter_accept.lua adds KEYS[6] P..'agents', KEYS[7] P..'approvals' and the day keys
-- (see its header).
--
-- P..'counters:<booking_id>' is a hash: counter id -> JSON record
--   id, booking_id, agent_id (who countered), priority (theirs, then), winner_agent_id,
--   proposed[{start_ms, end_ms}] (1-5), note, status pending|accepted|rejected|superseded,
--   created_ms, audit_event_id, decided_ms?, decided_audit_id?, slot_index? (0-based),
--   new_booking_id? (accepted)
-- A booking's agent answers each counter once; accepting one supersedes the others.
-- Keys written: P..'agent:<caller>' (token), P..'counters:<booking_id>', P..'audit',
--   P..'bkgaudit:*', P..'owner' (audit head), P..'outbox' (with webhooks).

local c_owner_key, c_bookings_key, c_counters_key = KEYS[1], KEYS[2], KEYS[3]
local c_agent_key = KEYS[4]
local c_key_hash, c_limits_json, c_caller = ARGV[1], ARGV[2], ARGV[3]
local c_booking_id, c_counter_id, c_payload_json = ARGV[4], ARGV[5], ARGV[6]

local function load_counter(id)
  local raw = redis.call('HGET', c_counters_key, id)
  if not raw then return nil end
  return cjson.decode(raw)
end

local function all_counters()
  local flat = redis.call('HGETALL', c_counters_key)
  local out = {}
  for i = 2, #flat, 2 do out[#out + 1] = cjson.decode(flat[i]) end
  return out
end

local function tx_save_counter(tx, cn)
  tx_write_json(tx, { 'HSET', c_counters_key, cn.id, false }, 4, cn)
end

-- "start-end,start-end" of the proposed slots (ms), for the audit entry.
local function proposed_text(cn)
  local parts = {}
  for _, s in ipairs(cn.proposed) do parts[#parts + 1] = ms(s.start_ms) .. '-' .. ms(s.end_ms) end
  return table.concat(parts, ',')
end

local function tx_counter_event(tx, event_type, aid, cn)
  if not has_hooks(tx.P) then return end
  local slots = {}
  for _, s in ipairs(cn.proposed) do slots[#slots + 1] = { start_ms = s.start_ms, end_ms = s.end_ms } end
  tx_outbox_add(tx, event_type, aid, {
    counter_id = cn.id, booking_id = cn.booking_id, agent_id = cn.agent_id,
    winner_agent_id = cn.winner_agent_id, status = cn.status, note = cn.note,
    slots = slots, slot_index = cn.slot_index, new_booking_id = cn.new_booking_id,
  }, 0)
end

-- Open a counter transition: a plan, the owner, the key (bookings:write, one token).
-- Returns tx, refused-reply-or-nil.
local function counter_open()
  local P = prefix_of(c_owner_key)
  local tx = tx_new(P, now_ms())
  if redis.call('EXISTS', c_owner_key) == 0 then
    return tx, { r = 'error', error = 'owner_unknown' }
  end
  local refused = tx_authorize(tx, c_agent_key, c_key_hash, 'bookings:write',
    cjson.decode(c_limits_json))
  return tx, refused
end

-- The winner's agent decides a pending counter: load both, check who and what.
-- Returns booking, counter, refused-reply-or-nil.
local function counter_for_decision(tx)
  local rec = load_booking(tx.P, c_booking_id)
  if not rec then return nil, nil, { r = 'error', error = 'not_found', what = 'booking' } end
  if rec.agent_id ~= c_caller then return nil, nil, { r = 'error', error = 'forbidden' } end
  local cn = load_counter(c_counter_id)
  if not cn then return nil, nil, { r = 'error', error = 'not_found', what = 'counter' } end
  if cn.status ~= 'pending' then
    return nil, nil, { r = 'error', error = 'counter_decided', counter = cn }
  end
  return rec, cn, nil
end

-- Record the decision on `cn` (audited, announced). `extra`: flat audit fields.
local function tx_decide_counter(tx, cn, status, extra, booking_ids)
  cn.status = status
  cn.decided_ms = tx.now
  local fields = { 'type', 'counter.' .. status, 'ts', ms(tx.now), 'counter_id', cn.id,
    'booking_id', cn.booking_id, 'agent_id', c_caller, 'counter_agent_id', cn.agent_id }
  if extra then for i = 1, #extra do fields[#fields + 1] = extra[i] end end
  cn.decided_audit_id = tx_audit(tx, fields, booking_ids or { cn.booking_id })
  tx_save_counter(tx, cn)
  tx_counter_event(tx, 'counter.' .. status, cn.decided_audit_id, cn)
  return cn
end
