-- read_booking.lua: a booking record and the server's clock, in one round trip.
-- KEYS[1] P..'owner'  KEYS[2] P..'bookings'
-- ARGV[1] booking id
-- Returns JSON {r='ok', booking, now} | {r='error', error='not_found', now}.
-- Read-only: the caller derives EXPIRED for a hold past its TTL from `now`.
local P = prefix_of(KEYS[1])
local now = now_ms()
local rec = load_booking(P, ARGV[1])
if not rec then return cjson.encode({ r = 'error', error = 'not_found', now = now }) end
return cjson.encode({ r = 'ok', booking = rec, now = now })
