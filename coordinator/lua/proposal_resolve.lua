-- proposal_resolve.lua: the organizer (or the owner) resolves a pending proposal now.
-- @include _access.lua
-- @include _proposals.lua
-- KEYS/ARGV: see _proposals.lua. ARGV[5] = JSON {lease_ms}.
-- Returns JSON {r='ok', proposal, now, resolution} | {r='error', error='not_found'|
--   'forbidden'|'not_pending'|'resolution_in_progress', proposal?}
-- resolution.outcome: 'booking' (the caller books resolution.slot with the organizer's
-- priority, then calls proposal_finish.lua), 'cancelled' (all declined),
-- 'no_slot_left' or 'organizer_inactive' (nothing changed).
local tx, p, refused = open_proposal('bookings:write', true)
local P, now = tx.P, tx.now
if refused then return tx_finish(tx, refused) end
local gate = organizer_gate(tx, p)
if gate then return tx_finish(tx, gate) end
local req = cjson.decode(payload_json)
local by = 'organizer'
if caller == '' then by = 'owner' end
local resolution = begin_resolution(tx, p, by, tonumber(req.lease_ms))
return tx_finish(tx, { r = 'ok', proposal = p, now = now, resolution = resolution })
