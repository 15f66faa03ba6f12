-- proposal_cancel.lua: the organizer (or the owner) withdraws a pending proposal.
-- @include _access.lua
-- @include _proposals.lua
-- KEYS/ARGV: see _proposals.lua (ARGV[5] unused).
-- Returns JSON {r='ok', proposal, now} | {r='error', error='not_found'|'forbidden'|
--   'not_pending'|'resolution_in_progress', proposal?, retry_after_ms?}
local P, now, p, refused = open_proposal('bookings:write', true)
if refused then return cjson.encode(refused) end
local gate = organizer_gate(P, p, now)
if gate then return cjson.encode(gate) end
local by = ARGV[3]
if by == '' then by = 'owner' end
finish(P, p, 'cancelled', 'organizer_cancelled', now, { 'by', by }, nil, nil)
return cjson.encode({ r = 'ok', proposal = p, now = now })
