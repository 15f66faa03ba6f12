-- create_agent.lua: register an agent for an owner, with its priority and key hash.
-- KEYS[1] P..'owner'  KEYS[2] P..'agents'  KEYS[3] P..'agent:<id>'  KEYS[4] P..'audit'
-- ARGV[1] agent_id  ARGV[2] JSON of the agent record (name, scopes, key_hash, ...)
-- ARGV[3] priority (1 = best)  ARGV[4] SHA-256 of the agent's API key
-- ARGV[5] scopes, space-separated  ARGV[6] rate limit (tokens/s, '' = default)
-- ARGV[7] burst (tokens, '' = default)
-- Returns JSON {r='ok', agent} | {r='error', error='owner_unknown'|'exists'}
-- Keys written: P..'agent:<id>', P..'agents', P..'audit', P..'owner' (audit head).
-- Bind KEYS and ARGV to names (coordinator/store/calls.py packs them in this order).
local owner_key, agents_key, agent_key, audit_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local agent_id, record_json, priority, key_hash = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local scopes, rl_rate, rl_burst = ARGV[5], ARGV[6], ARGV[7]
local tx = tx_new(prefix_of(owner_key), now_ms())
local now = tx.now
if redis.call('EXISTS', owner_key) == 0 then
  return tx_finish(tx, { r = 'error', error = 'owner_unknown' })
end
if redis.call('EXISTS', agent_key) == 1 then
  return tx_finish(tx, { r = 'error', error = 'exists' })
end
fault('opened')
local rec = cjson.decode(record_json)
rec.agent_id = agent_id
rec.priority = tonumber(priority)
rec.created_ms = now
rec.status = 'active'
local hash = { 'HSET', agent_key, 'json', false, 'key_hash', key_hash, 'status', 'active',
  'scopes', scopes }
if rl_rate ~= '' then hash[#hash + 1] = 'rl_rate'; hash[#hash + 1] = rl_rate end
if rl_burst ~= '' then hash[#hash + 1] = 'rl_burst'; hash[#hash + 1] = rl_burst end
hash[4] = cjson.encode(rec)  -- stored without its audit id, as it always was
tx_write(tx, hash)
tx_write(tx, { 'ZADD', agents_key, rec.priority, agent_id })
rec.audit_event_id = tx_audit(tx, { 'type', 'agent.created', 'ts', ms(now),
  'agent_id', agent_id, 'name', rec.name, 'priority', priority })
return tx_finish(tx, { r = 'ok', agent = rec })
