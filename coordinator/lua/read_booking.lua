-- read_booking.lua: a booking record and the server's clock, in one round trip.
-- @include _access.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'bookings'
-- KEYS[3] P..'agent:<agent_id>'  KEYS[4] P..'rl:<agent_id>'  (only for an agent's read)
-- ARGV[1] booking id
-- ARGV[2] SHA-256 of the caller's API key; absent or '' = the coordinator reading for
--         itself (the arbitration-window wait), with no key, scope or token
-- ARGV[3] scope the read needs ('bookings:read')  ARGV[4] JSON {rate, burst} defaults
-- Returns JSON {r='ok', booking, now} | {r='error', error='not_found', now} |
--   {r='error', error='unauthorized'|'insufficient_scope'|'rate_limited', ...}.
-- Writes only the caller's token bucket: the caller derives EXPIRED for a hold past
-- its TTL from `now`.
local P = prefix_of(KEYS[1])
local now = now_ms()
local key_hash = ARGV[2] or ''
if key_hash ~= '' then
  local refused = authorize(KEYS[3], KEYS[4], key_hash, ARGV[3], cjson.decode(ARGV[4]), now)
  if refused then return cjson.encode(refused) end
end
local rec = load_booking(P, ARGV[1])
if not rec then return cjson.encode({ r = 'error', error = 'not_found', now = now }) end
return cjson.encode({ r = 'ok', booking = rec, now = now })
