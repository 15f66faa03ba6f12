-- proposal_read.lua: one proposal as it stands, lapsing it first if its time ran out.
-- @include _access.lua
-- @include _proposals.lua
-- KEYS/ARGV: see _proposals.lua (ARGV[5] unused).
-- Returns JSON {r='ok', proposal, now} | {r='error', error='not_found'|'forbidden'|...}
-- An agent sees the proposals it organises or was invited to; the owner sees all.
local tx, p, refused = open_proposal('bookings:read', true)
local P, now = tx.P, tx.now
if refused then return tx_finish(tx, refused) end
if caller ~= '' and caller ~= p.organizer_agent_id and not is_participant(p, caller) then
  return tx_finish(tx, { r = 'error', error = 'forbidden' })
end
return tx_finish(tx, { r = 'ok', proposal = p, now = now })
