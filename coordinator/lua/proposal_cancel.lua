-- proposal_cancel.lua: the organizer (or the owner) withdraws a pending proposal.
-- @include _access.lua
-- @include _proposals.lua
-- KEYS/ARGV: see _proposals.lua (ARGV[5] unused).
-- Returns JSON {r='ok', proposal, now} | {r='error', error='not_found'|'forbidden'|
--   'not_pending'|'resolution_in_progress', proposal?, retry_after_ms?}
local tx, p, refused = open_proposal('bookings:write', true)
local P, now = tx.P, tx.now
if refused then return tx_finish(tx, refused) end
local gate = organizer_gate(tx, p)
if gate then return tx_finish(tx, gate) end
local by = caller
if by == '' then by = 'owner' end
proposal_end(tx, p, 'cancelled', 'organizer_cancelled', { 'by', by }, nil)
return tx_finish(tx, { r = 'ok', proposal = p, now = now })
