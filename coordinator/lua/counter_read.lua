-- counter_read.lua: one counter (its author or the booking's agent), or all counters on
-- a booking (the booking's agent only).
-- @include _access.lua
-- @include _counters.lua
-- KEYS/ARGV: see _counters.lua. ARGV[5] = the counter id, or '' for all of them.
-- Returns JSON {r='ok', counters=[...], booking, now} | {r='error', error='not_found'|
--   'forbidden'} | an _access.lua refusal. Writes only the caller's token.
local tx, refused = counter_open()
if refused then return tx_finish(tx, refused) end
fault('opened')
local rec = load_booking(tx.P, c_booking_id)
if not rec then return tx_finish(tx, { r = 'error', error = 'not_found', what = 'booking' }) end
local out = {}
if c_counter_id == '' then
  if rec.agent_id ~= c_caller then return tx_finish(tx, { r = 'error', error = 'forbidden' }) end
  out = all_counters()
else
  local cn = load_counter(c_counter_id)
  if not cn then return tx_finish(tx, { r = 'error', error = 'not_found', what = 'counter' }) end
  if rec.agent_id ~= c_caller and cn.agent_id ~= c_caller then
    return tx_finish(tx, { r = 'error', error = 'forbidden' })
  end
  out = { cn }
end
return tx_finish(tx, { r = 'ok', counters = out, booking = rec, now = tx.now })
