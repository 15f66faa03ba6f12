-- cancel.lua: the booking agent cancels its own COMMITTED booking (or live hold).
-- @include _access.lua
-- @include _end.lua
-- KEYS/ARGV/returns: see _end.lua. A booking that is no longer live answers
-- {r='error', error='invalid_state', booking, now}.
-- Keys written: see _end.lua.
return end_own(function(tx, rec)
  if not is_live(rec, tx.now) then
    return { r = 'error', error = 'invalid_state', booking = rec, now = tx.now }
  end
  tx_end_booking(tx, rec, 'CANCELLED', nil, 'booking.cancelled', nil)
  return { r = 'ok', booking = rec, now = tx.now }
end)
