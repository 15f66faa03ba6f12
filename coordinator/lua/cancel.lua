-- cancel.lua: the booking agent cancels its own COMMITTED booking (or live hold).
-- @include _access.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'bookings'  KEYS[3] P..'agents'  KEYS[4] P..'audit'
-- KEYS[5] P..'agent:<agent_id>'  ARGV[3] SHA-256 of the caller's API key ('' = internal)
-- KEYS[6] P..'rl:<agent_id>' (token bucket)  ARGV[4] JSON {rate, burst} default limits
--   (the key needs scope bookings:write; see _access.lua)
-- ARGV[1] agent_id    ARGV[2] booking id
-- Returns JSON {r='ok', booking} | {r='error', error='not_found'|'forbidden'|
--   'invalid_state', booking?}
local P = prefix_of(KEYS[1])
local agent_id, id = ARGV[1], ARGV[2]
local now = now_ms()
local refused = authorize(KEYS[5], KEYS[6], ARGV[3], 'bookings:write',
  cjson.decode(ARGV[4]), now)
if refused then return cjson.encode(refused) end
local rec = load_booking(P, id)
if not rec then return cjson.encode({ r = 'error', error = 'not_found' }) end
if rec.agent_id ~= agent_id then return cjson.encode({ r = 'error', error = 'forbidden' }) end
if not is_live(rec, now) then
  return cjson.encode({ r = 'error', error = 'invalid_state', booking = rec, now = now })
end
end_booking(P, rec, 'CANCELLED', now, nil, 'booking.cancelled', nil)
return cjson.encode({ r = 'ok', booking = rec, now = now })
