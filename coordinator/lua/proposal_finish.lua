-- proposal_finish.lua: record what the resolution's commit did (coordinator-internal).
-- @include _access.lua
-- @include _proposals.lua
-- KEYS/ARGV: see _proposals.lua (ARGV[1] = '', no key: the commit already checked it).
-- ARGV[5] = JSON {token, ok, booking_id?, cause?, detail?, winning_*?}
-- Returns JSON {r='ok', proposal, now, failure?} | {r='error', error='not_found'|'stale',
--   proposal}
-- 'stale': the lease ran out and someone else settled this resolution; a booking the
-- caller made must be cancelled by the caller (it belongs to no proposal).
local tx, _, refused = open_proposal('', false)
local P, now = tx.P, tx.now
if refused then return tx_finish(tx, refused) end
local p = load_proposal(P, proposal_id)
if not p then return tx_finish(tx, { r = 'error', error = 'not_found' }) end
local out = cjson.decode(payload_json)
if p.status ~= 'pending' or not p.resolving or p.resolving.token ~= out.token then
  return tx_finish(tx, { r = 'error', error = 'stale', proposal = p })
end
if out.ok then
  local b = load_booking(P, out.booking_id)
  if b and b.status == 'COMMITTED' then
    confirm(tx, p, find_slot(p, p.resolving.slot_id), b.id)
    return tx_finish(tx, { r = 'ok', proposal = p, now = now })
  end
  -- Evicted between the commit's answer and this call (a better agent inside the
  -- bump window): a loss like any other.
  out = { cause = 'evicted', booking_id = out.booking_id, detail = 'evicted before confirmation',
    winning_booking_id = b and b.ended_by or nil,
    winning_agent_id = b and b.ended_by_agent_id or nil,
    winning_agent_priority = b and b.ended_by_priority or nil }
end
local failure = record_failure(tx, p, out)
p = expire_if_due(tx, p)
return tx_finish(tx, { r = 'ok', proposal = p, now = now, failure = failure })
