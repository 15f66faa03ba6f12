-- counter_accept.lua: the booking's agent takes one of a counter's slots. Its booking
-- moves there in ONE atomic step: the chosen slot is claimed through the same steps as
-- a commit (_claim.lua: occupants, judge, external blocks, the final winner, eviction,
-- the daily cap, the owner's rules), the original booking ends as MOVED and its buckets
-- are freed, the counter is marked accepted and the booking's other pending counters
-- superseded. If the slot is lost, nothing but the rejection's audit entry is written:
-- the original booking stays and the counter stays pending.
-- @include _access.lua
-- @include _approvals.lua
-- @include _gate.lua
-- @include _external.lua
-- @include _plain.lua
-- @include _claim.lua
-- @include _counters.lua
-- KEYS[1..5], ARGV[1..5]: see _counters.lua.
-- KEYS[6] P..'agents'  KEYS[7] P..'approvals'
-- KEYS[8 .. 7+n]      P..'day:<N>' for each UTC day the new booking's cover touches
-- KEYS[8+n .. 7+n+m]  P..'day:<N>' for each UTC day of its LOCAL day (daily cap)
-- ARGV[6] JSON {slot_index, new_booking_id, start_ms, end_ms (the slot the caller read),
--   static (the new record's fixed fields, as _claim.lua's ARGV[4]), digest (of them,
--   for the creating audit entry), bump_ms,
--   days [[first, last], ...] (inclusive bucket fields of each day key),
--   approval_required (the owner's gate covers this commit: refused)}
-- ARGV[7] JSON checks, as _gate.lua reads them (scope, limits, rv, lead_ms, cap, ...)
-- Returns JSON {r='ok', counter, booking (new), released (original), now, displaced} |
--   {r='conflict', ...winner fields} | {r='pending', wait_for, until_ms, now} |
--   {r='rules_changed', ...} | {r='error', error='not_found' (what)|'forbidden'|
--   'counter_decided' (counter)|'booking_not_live' (booking)|'invalid_slot_index' (count)|
--   'slot_mismatch'|'approval_required'|'in_the_past'|'rule_violation'|...}.
-- Keys written: as _claim.lua, plus P..'counters:<booking_id>'.
local req = cjson.decode(c_payload_json)
local n = #req.days
local q = {
  mode = 'commit', owner_key = c_owner_key, bookings_key = c_bookings_key,
  agents_key = KEYS[6], idem_key = c_owner_key, agent_key = c_agent_key,
  approvals_key = KEYS[7], agent_id = c_caller, booking_id = req.new_booking_id,
  req_hash = '', hold_ttl_ms = 0, bump_ms = tonumber(req.bump_ms), window_ms = 0,
  idem_ttl = 0, key_hash = c_key_hash, checks = ARGV[7], days = {}, cap_keys = {},
  settle_now = true,
}
for i = 1, n do
  q.days[i] = { key = KEYS[7 + i], first = tonumber(req.days[i][1]),
    last = tonumber(req.days[i][2]) }
end
for i = 8 + n, #KEYS do q.cap_keys[#q.cap_keys + 1] = KEYS[i] end

local P = prefix_of(q.owner_key)
local now = now_ms()
local tx = tx_new(P, now)
local g = gate_open(tx, q)  -- an unknown owner is its first refusal
if g.reply then return tx_finish(tx, g.reply) end
fault('opened')

local orig, cn, no = counter_for_decision(tx)
if no then return tx_finish(tx, no) end
if orig.status ~= 'COMMITTED' then
  return tx_finish(tx, { r = 'error', error = 'booking_not_live', booking = orig })
end
local idx = tonumber(req.slot_index)
local slot = cn.proposed[idx + 1]
if not slot then
  return tx_finish(tx, { r = 'error', error = 'invalid_slot_index', count = #cn.proposed })
end
if n == 0 or req.start_ms ~= slot.start_ms or req.end_ms ~= slot.end_ms then
  return tx_finish(tx, { r = 'error', error = 'slot_mismatch' })
end
if req.approval_required then
  return tx_finish(tx, { r = 'error', error = 'approval_required' })
end
local prio = tonumber(redis.call('ZSCORE', q.agents_key, c_caller))
local new = req.static
if new.start_ms < now then
  return tx_finish(tx, { r = 'error', error = 'in_the_past', now = now })
end
local refused = gate_rules(tx, g, q, new)
if refused then return tx_finish(tx, refused) end
fault('checked')

-- The booking being moved is no obstacle to its own new slot.
local occupants = {}
for _, oid in ipairs(claim_occupants(q)) do
  if oid ~= orig.id then occupants[#occupants + 1] = oid end
end
local lost, j, ending = claim_contest(tx, q, g, prio, new, occupants, { [orig.id] = true })
if lost then return lost end
local capped = gate_cap(tx, g, ending)
if capped then return tx_finish(tx, capped) end

-- Release the original first, so its buckets are freed before the new ones are taken.
tx_end_booking(tx, orig, 'MOVED', {
  ended_by = q.booking_id, end_reason = 'counter_accepted', counter_id = cn.id,
}, 'booking.moved', { 'by_booking_id', q.booking_id, 'counter_id', cn.id })
local displaced_ids, report = claim_end_occupants(tx, q, prio, j)
claim_take(tx, q, g, prio, new, displaced_ids, req.digest)
new.moved_from = orig.id
new.counter_id = cn.id

cn.slot_index = idx
cn.new_booking_id = q.booking_id
local superseded = {}
for _, other in ipairs(all_counters()) do
  if other.status == 'pending' and other.id ~= cn.id then
    other.status = 'superseded'
    other.decided_ms = now
    tx_save_counter(tx, other)
    superseded[#superseded + 1] = other.id
  end
end
tx_decide_counter(tx, cn, 'accepted', {
  'slot_index', ms(idx), 'new_booking_id', q.booking_id,
  'superseded', table.concat(superseded, ','),
}, { orig.id, q.booking_id })
fault('decided')
return tx_finish(tx, {
  r = 'ok', counter = cn, booking = new, released = orig, now = now, displaced = report,
})
