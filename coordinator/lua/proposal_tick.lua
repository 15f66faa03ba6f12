-- proposal_tick.lua: the timer's visit (coordinator-internal, no key): lapse a proposal
-- whose expires_at passed, or settle a resolution whose resolver died.
-- @include _access.lua
-- @include _proposals.lua
-- KEYS/ARGV: see _proposals.lua (ARGV[1] = '', ARGV[5] unused).
-- Returns JSON {r='ok', status, next_ms?}: next_ms = when the timer should come back
-- (the proposal is still pending), absent when it is terminal or gone.
local tx, _, refused = open_proposal('', false)
local P, now = tx.P, tx.now
if refused then return tx_finish(tx, { r = 'ok', status = 'gone' }) end
local p = load_proposal(P, proposal_id)
if not p then return tx_finish(tx, { r = 'ok', status = 'gone' }) end
if p.status == 'pending' and p.resolving then settle_stale(tx, p) end
p = expire_if_due(tx, p)
if p.status ~= 'pending' then
  return tx_finish(tx, { r = 'ok', status = p.status, now = now })
end
local next_ms = p.expires_ms
if p.resolving and p.resolving.lease_ms < next_ms then next_ms = p.resolving.lease_ms end
return tx_finish(tx, { r = 'ok', status = p.status, next_ms = next_ms, now = now })
