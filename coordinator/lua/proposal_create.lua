-- proposal_create.lua: an organizer agent offers candidate slots to participant agents.
-- @include _access.lua
-- @include _proposals.lua
-- KEYS/ARGV: see _proposals.lua. ARGV[5] = JSON of the new record as validated by
-- coordinator/proposals (id, title, description, calendar_id, organizer_agent_id,
-- participant_agent_ids, slots with ids and weight_u, expires_ms?, default_ttl_ms,
-- max_ttl_ms); without expires_ms the proposal lapses default_ttl_ms from now.
-- Returns JSON {r='ok', proposal, now, replay?} | {r='error', error='unknown_agent'|
--   'organizer_inactive'|'expires_in_past'|'unknown_agent'|'forbidden'|..., agent_id?}
-- The id is derived from the caller's idempotency key when it gave one, so a retried
-- create returns the proposal it made instead of opening a second one.
local tx, _, refused = open_proposal('bookings:write', false)
local P, now = tx.P, tx.now
if refused then return tx_finish(tx, refused) end
local req = cjson.decode(payload_json)
if caller ~= '' and caller ~= req.organizer_agent_id then
  return tx_finish(tx, { r = 'error', error = 'forbidden' })
end
local existing = load_proposal(P, proposal_id)
if existing then
  if existing.organizer_agent_id ~= req.organizer_agent_id then
    return tx_finish(tx, { r = 'error', error = 'forbidden' })
  end
  return tx_finish(tx, { r = 'ok', proposal = expire_if_due(tx, existing), now = now,
    replay = true })
end
if redis.call('ZSCORE', agents_key, req.organizer_agent_id) == false then
  return tx_finish(tx, { r = 'error', error = 'unknown_agent', agent_id = req.organizer_agent_id,
    field = 'organizer_agent_id' })
end
if redis.call('HGET', P .. 'agent:' .. req.organizer_agent_id, 'status') ~= 'active' then
  return tx_finish(tx, { r = 'error', error = 'organizer_inactive' })
end
for i, a in ipairs(req.participant_agent_ids) do
  if redis.call('ZSCORE', agents_key, a) == false then
    return tx_finish(tx, { r = 'error', error = 'unknown_agent', agent_id = a,
      field = 'participant_agent_ids[' .. (i - 1) .. ']' })
  end
end
if not req.expires_ms then req.expires_ms = now + req.default_ttl_ms end
req.default_ttl_ms = nil
if req.expires_ms <= now then
  return tx_finish(tx, { r = 'error', error = 'expires_in_past', now = now })
end
if req.expires_ms - now > req.max_ttl_ms then
  return tx_finish(tx, { r = 'error', error = 'expires_too_far', now = now })
end
req.max_ttl_ms = nil
local p = req
p.status = 'pending'
p.responses = {}
p.n_responses = 0
p.failures = {}
p.attempts = 0
p.created_ms = now
local slots = {}
for _, s in ipairs(p.slots) do slots[#slots + 1] = slot_event(s) end
p.audit_event_id = proposal_audit(tx, 'proposal.created', p, {
  'agent_id', p.organizer_agent_id, 'participants', table.concat(p.participant_agent_ids, ' '),
  'slots', ms(#p.slots), 'expires', ms(p.expires_ms) })
save_proposal(tx, p)
emit_proposal(tx, 'proposal.created', p.audit_event_id, p, {
  description = p.description, participant_agent_ids = p.participant_agent_ids,
  slots = slots, expires_ms = p.expires_ms })
return tx_finish(tx, { r = 'ok', proposal = p, now = now })
