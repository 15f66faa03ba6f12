-- release.lua: the holding agent gives its HOLD back.
-- @include _access.lua
-- @include _end.lua
-- KEYS/ARGV/returns: see _end.lua. Not a HOLD: {r='error', error='invalid_state',
-- booking}; a hold past its TTL is ended as EXPIRED and answers error='expired'.
-- Keys written: see _end.lua.
return end_own(function(tx, rec)
  if rec.status ~= 'HOLD' then
    return { r = 'error', error = 'invalid_state', booking = rec }
  end
  if rec.expires_ms <= tx.now then
    tx_end_booking(tx, rec, 'EXPIRED', nil, 'hold.expired', nil)
    return { r = 'error', error = 'expired', booking = rec }
  end
  tx_end_booking(tx, rec, 'RELEASED', nil, 'hold.released', nil)
  return { r = 'ok', booking = rec, now = tx.now }
end)
