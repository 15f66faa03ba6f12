-- proposal_cancel.lua: the organizer (or the owner) withdraws a pending proposal.
-- @include _access.lua
-- @include _proposals.lua
-- KEYS/ARGV: see _proposals.lua (ARGV[5] unused).
-- Returns JSON {r='ok', proposal, now} | {r='error', error='not_found'|'forbidden'|
--   'not_pending'|'resolution_in_progress', proposal?, retry_after_ms?}
local P, now, p, refused = open_proposal('bookings:write', true)
if refused then return cjson.encode(refused) end
if ARGV[3] ~= '' and ARGV[3] ~= p.organizer_agent_id then
  return cjson.encode({ r = 'error', error = 'forbidden' })
end
if p.status ~= 'pending' then
  return cjson.encode({ r = 'error', error = 'not_pending', proposal = p })
end
-- A resolution is booking right now: cancelling under it would strand its booking.
if p.resolving and settle_stale(P, p, now) == 'busy' then
  return cjson.encode({ r = 'error', error = 'resolution_in_progress', proposal = p,
    retry_after_ms = math.max(1, p.resolving.lease_ms - now) })
end
if p.status ~= 'pending' then
  return cjson.encode({ r = 'error', error = 'not_pending', proposal = p })
end
local by = ARGV[3]
if by == '' then by = 'owner' end
finish(P, p, 'cancelled', 'organizer_cancelled', now, { 'by', by }, nil, nil)
return cjson.encode({ r = 'ok', proposal = p, now = now })
