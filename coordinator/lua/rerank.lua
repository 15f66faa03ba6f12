-- rerank.lua: the owner's new ranking of agents, best first; bumps rules_version.
-- KEYS[1] P..'owner'  KEYS[2] P..'agents'  KEYS[3] P..'audit'
-- ARGV[1] JSON array of agent ids, best first: they get priorities 1..k; agents left
--         out follow them in their current order (k+1, ...)
-- Returns JSON {r='ok', ranking=[[agent_id, priority], ...], rules_version,
--   audit_event_id} | {r='error', error='owner_unknown'|'agent_unknown', agent_id?}
-- Priority is read live by every claim, so the new ranking decides the next call.
-- Keys written: P..'agents', P..'owner' (rules_version, audit head), P..'audit'.
-- Bind KEYS and ARGV to names (coordinator/store/calls.py packs them in this order).
local owner_key, agents_key, audit_key = KEYS[1], KEYS[2], KEYS[3]
local wanted_json = ARGV[1]
local tx = tx_new(prefix_of(owner_key), now_ms())
local now = tx.now
if redis.call('EXISTS', owner_key) == 0 then
  return tx_finish(tx, { r = 'error', error = 'owner_unknown' })
end
fault('opened')
local wanted = cjson.decode(wanted_json)
local listed = {}
for _, id in ipairs(wanted) do
  if not redis.call('ZSCORE', agents_key, id) then
    return tx_finish(tx, { r = 'error', error = 'agent_unknown', agent_id = id })
  end
  listed[id] = true
end
local order = {}
for _, id in ipairs(wanted) do order[#order + 1] = id end
for _, id in ipairs(redis.call('ZRANGE', agents_key, 0, -1)) do
  if not listed[id] then order[#order + 1] = id end
end
local ranking = {}
for i, id in ipairs(order) do
  tx_write(tx, { 'ZADD', agents_key, i, id })
  ranking[#ranking + 1] = { id, i }
end
local rv = (tonumber(redis.call('HGET', owner_key, 'rules_version')) or 0) + 1
tx_write(tx, { 'HSET', owner_key, 'rules_version', rv })
local aid = tx_audit(tx, { 'type', 'agents.reranked', 'ts', ms(now), 'rules_version', ms(rv),
  'ranking', table.concat(order, ',') })
return tx_finish(tx, { r = 'ok', ranking = ranking, rules_version = rv,
  audit_event_id = aid })
