-- create_agent.lua: register an agent for an owner, with its priority and key hash.
-- KEYS[1] P..'owner'  KEYS[2] P..'agents'  KEYS[3] P..'agent:<id>'  KEYS[4] P..'audit'
-- ARGV[1] agent_id  ARGV[2] JSON of the agent record (name, scopes, key_hash, ...)
-- ARGV[3] priority (1 = best)  ARGV[4] SHA-256 of the agent's API key
-- ARGV[5] scopes, space-separated  ARGV[6] rate limit (tokens/s, '' = default)
-- ARGV[7] burst (tokens, '' = default)
-- Returns JSON {r='ok', agent} | {r='error', error='owner_unknown'|'exists'}
-- Keys written: P..'agent:<id>', P..'agents', P..'audit', P..'owner' (audit head).
local tx = tx_new(prefix_of(KEYS[1]), now_ms())
local now = tx.now
if redis.call('EXISTS', KEYS[1]) == 0 then
  return tx_finish(tx, { r = 'error', error = 'owner_unknown' })
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  return tx_finish(tx, { r = 'error', error = 'exists' })
end
fault('opened')
local rec = cjson.decode(ARGV[2])
rec.agent_id = ARGV[1]
rec.priority = tonumber(ARGV[3])
rec.created_ms = now
rec.status = 'active'
local hash = { 'HSET', KEYS[3], 'json', false, 'key_hash', ARGV[4], 'status', 'active',
  'scopes', ARGV[5] }
if ARGV[6] ~= '' then hash[#hash + 1] = 'rl_rate'; hash[#hash + 1] = ARGV[6] end
if ARGV[7] ~= '' then hash[#hash + 1] = 'rl_burst'; hash[#hash + 1] = ARGV[7] end
hash[4] = cjson.encode(rec)  -- stored without its audit id, as it always was
tx_write(tx, hash)
tx_write(tx, { 'ZADD', KEYS[2], rec.priority, ARGV[1] })
rec.audit_event_id = tx_audit(tx, { 'type', 'agent.created', 'ts', ms(now),
  'agent_id', ARGV[1], 'name', rec.name, 'priority', ARGV[3] }, nil)
return tx_finish(tx, { r = 'ok', agent = rec })
