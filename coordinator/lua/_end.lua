-- _end.lua: an agent ends its own booking; shared by cancel.lua and release.lua.
--
-- Called only through coordinator/store/calls.py (end_booking):
-- KEYS[1] P..'owner'  KEYS[2] P..'bookings'
-- KEYS[3] P..'agent:<agent_id>' (its key, scope and token bucket: _access.lua)
-- ARGV[1] agent_id  ARGV[2] booking id
-- ARGV[3] SHA-256 of the caller's API key ('' = internal; else it needs bookings:write,
--         see _access.lua)  ARGV[4] JSON {rate, burst} default limits
-- Returns JSON {r='ok', booking, now} | {r='error', error='not_found'|'forbidden'|
--   'invalid_state'|'expired', booking?} | an _access.lua refusal.
-- Keys written: P..'bookings', the booking's buckets, P..'audit',
--   P..'owner' (audit head), P..'agent:<agent_id>' (token), P..'outbox'.

-- `decide(tx, rec)` plans the transition for the caller's own booking and returns the
-- reply; everything before it (key, token, lookup, ownership) is the same for both.
local function end_own(decide)
  local q = {
    owner_key = KEYS[1], agent_key = KEYS[3],
    agent_id = ARGV[1], booking_id = ARGV[2], key_hash = ARGV[3], limits = ARGV[4],
  }
  local P = prefix_of(q.owner_key)
  local tx = tx_new(P, now_ms())
  local refused = tx_authorize(tx, q.agent_key, q.key_hash, 'bookings:write',
    cjson.decode(q.limits))
  if refused then return tx_finish(tx, refused) end
  local rec = load_booking(P, q.booking_id)
  if not rec then return tx_finish(tx, { r = 'error', error = 'not_found' }) end
  if rec.agent_id ~= q.agent_id then
    return tx_finish(tx, { r = 'error', error = 'forbidden' })
  end
  fault('opened')
  local reply = decide(tx, rec)
  fault('ended')
  return tx_finish(tx, reply)
end
