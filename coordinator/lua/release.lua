-- release.lua: the holding agent gives its HOLD back.
-- @include _access.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'bookings'  KEYS[3] P..'agents'  KEYS[4] P..'audit'
-- KEYS[5] P..'agent:<agent_id>'  ARGV[3] SHA-256 of the caller's API key ('' = internal)
-- KEYS[6] P..'rl:<agent_id>' (token bucket)  ARGV[4] JSON {rate, burst} default limits
--   (the key needs scope bookings:write; see _access.lua)
-- ARGV[1] agent_id    ARGV[2] hold id
-- Returns JSON {r='ok', booking} | {r='error', error='not_found'|'forbidden'|
--   'invalid_state'|'expired', booking?}
local P = prefix_of(KEYS[1])
local agent_id, id = ARGV[1], ARGV[2]
local now = now_ms()
local refused = authorize(KEYS[5], KEYS[6], ARGV[3], 'bookings:write',
  cjson.decode(ARGV[4]), now)
if refused then return cjson.encode(refused) end
local rec = load_booking(P, id)
if not rec then return cjson.encode({ r = 'error', error = 'not_found' }) end
if rec.agent_id ~= agent_id then return cjson.encode({ r = 'error', error = 'forbidden' }) end
if rec.status ~= 'HOLD' then
  return cjson.encode({ r = 'error', error = 'invalid_state', booking = rec })
end
if rec.expires_ms <= now then
  end_booking(P, rec, 'EXPIRED', now, nil, 'hold.expired', nil)
  return cjson.encode({ r = 'error', error = 'expired', booking = rec })
end
end_booking(P, rec, 'RELEASED', now, nil, 'hold.released', nil)
return cjson.encode({ r = 'ok', booking = rec, now = now })
