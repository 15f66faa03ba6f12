-- proposal_resolve.lua: the organizer (or the owner) resolves a pending proposal now.
-- @include _access.lua
-- @include _proposals.lua
-- KEYS/ARGV: see _proposals.lua. ARGV[5] = JSON {lease_ms}.
-- Returns JSON {r='ok', proposal, now, resolution} | {r='error', error='not_found'|
--   'forbidden'|'not_pending'|'resolution_in_progress', proposal?}
-- resolution.outcome: 'booking' (the caller books resolution.slot with the organizer's
-- priority, then calls proposal_finish.lua), 'cancelled' (all declined),
-- 'no_slot_left' or 'organizer_inactive' (nothing changed).
local P, now, p, refused = open_proposal('bookings:write', true)
if refused then return cjson.encode(refused) end
local gate = organizer_gate(P, p, now)
if gate then return cjson.encode(gate) end
local req = cjson.decode(ARGV[5])
local by = 'organizer'
if ARGV[3] == '' then by = 'owner' end
local resolution = begin_resolution(P, p, now, by, tonumber(req.lease_ms))
return cjson.encode({ r = 'ok', proposal = p, now = now, resolution = resolution })
