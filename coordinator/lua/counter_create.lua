-- counter_create.lua: a losing agent offers the winning booking's agent alternatives.
-- @include _access.lua
-- @include _counters.lua
-- KEYS/ARGV: see _counters.lua. ARGV[5] = the new counter's id. ARGV[6] = JSON
-- {proposed: [{start_ms, end_ms}] (1-5, checked by the caller), note, max_pending}.
-- Returns JSON {r='ok', counter, now} | {r='error', error='not_found'|'own_booking'|
--   'booking_not_live' (booking)|'counter_pending' (counter)|'too_many_counters' (max)|
--   'in_the_past' (index, now)} | an _access.lua refusal.
-- Refusals write nothing but the caller's token.
local tx, refused = counter_open()
if refused then return tx_finish(tx, refused) end
local P, now = tx.P, tx.now
fault('opened')
local req = cjson.decode(c_payload_json)
local rec = load_booking(P, c_booking_id)
if not rec then return tx_finish(tx, { r = 'error', error = 'not_found', what = 'booking' }) end
if rec.agent_id == c_caller then return tx_finish(tx, { r = 'error', error = 'own_booking' }) end
if not (rec.status == 'COMMITTED') then
  return tx_finish(tx, { r = 'error', error = 'booking_not_live', booking = rec })
end
for i, s in ipairs(req.proposed) do
  if s.start_ms < now then
    return tx_finish(tx, { r = 'error', error = 'in_the_past', index = i - 1, now = now })
  end
end
local pending = 0
for _, other in ipairs(all_counters()) do
  if other.status == 'pending' then
    pending = pending + 1
    if other.agent_id == c_caller then
      return tx_finish(tx, { r = 'error', error = 'counter_pending', counter = other })
    end
  end
end
if pending >= tonumber(req.max_pending) then
  return tx_finish(tx, { r = 'error', error = 'too_many_counters', max = req.max_pending })
end
local prio = live_priority(P, c_caller, 0)
local cn = {
  id = c_counter_id, booking_id = rec.id, agent_id = c_caller, priority = prio,
  winner_agent_id = rec.agent_id, proposed = req.proposed, note = req.note or '',
  status = 'pending', created_ms = now,
}
cn.audit_event_id = tx_audit(tx, {
  'type', 'counter.created', 'ts', ms(now), 'counter_id', cn.id, 'booking_id', rec.id,
  'agent_id', c_caller, 'priority', ms(prio), 'winner_agent_id', rec.agent_id,
  'proposed', proposed_text(cn),
}, { rec.id })
tx_save_counter(tx, cn)
tx_counter_event(tx, 'counter.created', cn.audit_event_id, cn)
fault('planned')
return tx_finish(tx, { r = 'ok', counter = cn, now = now })
