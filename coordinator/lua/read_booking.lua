-- read_booking.lua: a booking record and the server's clock, in one round trip.
-- @include _access.lua
-- Called only through coordinator/store/calls.py (read_booking):
-- KEYS[1] P..'owner'  KEYS[2] P..'bookings'
-- KEYS[3] P..'agent:<agent_id>'  (only for an agent's read: its key, scope and token bucket)
-- ARGV[1] booking id
-- ARGV[2] SHA-256 of the caller's API key; absent or '' = the coordinator reading for
--         itself (the arbitration-window wait), with no key, scope or token
-- ARGV[3] scope the read needs ('bookings:read')  ARGV[4] JSON {rate, burst} defaults
-- Returns JSON {r='ok', booking, now} | {r='error', error='not_found', now} |
--   {r='error', error='unauthorized'|'insufficient_scope'|'rate_limited', ...}.
-- Keys written: only the caller's token bucket (in the agent hash). The caller derives
-- EXPIRED for a hold past its TTL from `now`.
-- Bind KEYS and ARGV to names (coordinator/store/calls.py packs them in this order).
local owner_key, bookings_key, agent_key = KEYS[1], KEYS[2], KEYS[3]
local booking_id, key_hash, scope, limits_json = ARGV[1], ARGV[2] or '', ARGV[3], ARGV[4]
local P = prefix_of(owner_key)
local tx = tx_new(P, now_ms())
if key_hash ~= '' then
  local refused = tx_authorize(tx, agent_key, key_hash, scope, cjson.decode(limits_json))
  if refused then return tx_finish(tx, refused) end
end
fault('opened')
local rec = load_booking(P, booking_id)
if not rec then return tx_finish(tx, { r = 'error', error = 'not_found', now = tx.now }) end
return tx_finish(tx, { r = 'ok', booking = rec, now = tx.now })
