-- proposal_respond.lua: a participant answers, once; the last answer starts resolution.
-- @include _access.lua
-- @include _proposals.lua
-- KEYS/ARGV: see _proposals.lua. ARGV[3] = the answering agent (it must be the key's
-- agent, or '' with ARGV[5].agent_id for the owner acting). ARGV[5] = JSON
-- {agent_id, response, selected_slot_id?, counter_slots?, message?, lease_ms}.
-- Returns JSON {r='ok', proposal, now, resolution?} | {r='error', error='not_found'|
--   'forbidden'|'not_pending'|'duplicate_response'|'unknown_slot', proposal?}
-- resolution = begin_resolution's reply when this answer was the last one: the caller
-- then books the slot and calls proposal_finish.lua.
local tx, p, refused = open_proposal('bookings:write', true)
local P, now = tx.P, tx.now
if refused then return tx_finish(tx, refused) end
local req = cjson.decode(payload_json)
local agent_id = req.agent_id
if caller ~= '' and caller ~= agent_id then
  return tx_finish(tx, { r = 'error', error = 'forbidden' })
end
if not is_participant(p, agent_id) then
  return tx_finish(tx, { r = 'error', error = 'forbidden' })
end
if p.status ~= 'pending' then
  return tx_finish(tx, { r = 'error', error = 'not_pending', proposal = p })
end
if p.responses[agent_id] then
  return tx_finish(tx, { r = 'error', error = 'duplicate_response', proposal = p })
end
if req.selected_slot_id and not find_slot(p, req.selected_slot_id) then
  return tx_finish(tx, { r = 'error', error = 'unknown_slot', proposal = p })
end
local answer = {
  response = req.response, selected_slot_id = req.selected_slot_id,
  counter_slots = req.counter_slots, message = req.message, responded_ms = now,
}
local fields = { 'agent_id', agent_id, 'response', req.response }
if req.selected_slot_id then
  fields[#fields + 1] = 'slot_id'; fields[#fields + 1] = req.selected_slot_id
end
answer.audit_event_id = proposal_audit(tx, 'proposal.responded', p, fields)
p.responses[agent_id] = answer
p.n_responses = (p.n_responses or 0) + 1
save_proposal(tx, p)
emit_proposal(tx, 'proposal.responded', answer.audit_event_id, p, {
  agent_id = agent_id, response = req.response, selected_slot_id = req.selected_slot_id,
  counter_slots = req.counter_slots, message = req.message })
local resolution = nil
if p.n_responses >= #p.participant_agent_ids and not p.resolving then
  resolution = begin_resolution(tx, p, 'auto', tonumber(req.lease_ms))
end
return tx_finish(tx, { r = 'ok', proposal = p, now = now, resolution = resolution })
