-- agent_update.lua: rotate, revoke or unrevoke an agent's key, or set its rate limit.
-- KEYS[1] P..'owner'  KEYS[2] P..'agent:<agent_id>'  KEYS[3] P..'audit'
-- ARGV[1] agent_id  ARGV[2] op: 'rotate' | 'revoke' | 'unrevoke' | 'rate_limit'
-- ARGV[3] rotate/unrevoke: SHA-256 of the new key; rate_limit: tokens/s ('' = default)
-- ARGV[4] rate_limit: burst ('' = default)
-- Returns JSON {r='ok', old_key_hash, status, audit_event_id} |
--   {r='error', error='agent_unknown'|'invalid_state', status}
-- Every claim and read compares the caller's key hash with this record inside its own
-- script, so a rotated or revoked key fails on its very next call, in any process.
-- Keys written: P..'agent:<agent_id>', P..'audit', P..'owner' (audit head).
-- Bind KEYS and ARGV to names (coordinator/store/calls.py packs them in this order).
local owner_key, agent_key, audit_key = KEYS[1], KEYS[2], KEYS[3]
local agent_id, op, value, burst = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local tx = tx_new(prefix_of(owner_key), now_ms())
local now = tx.now
local a = redis.call('HMGET', agent_key, 'key_hash', 'status')
if not a[1] then return tx_finish(tx, { r = 'error', error = 'agent_unknown' }) end
local old, status = a[1], a[2]
local need = { rotate = 'active', revoke = 'active', unrevoke = 'revoked' }
if need[op] and status ~= need[op] then
  return tx_finish(tx, { r = 'error', error = 'invalid_state', status = status })
end
fault('opened')
local fields = { 'type', 'agent.' .. op, 'ts', ms(now), 'agent_id', agent_id }
if op == 'rotate' then
  tx_write(tx, { 'HSET', agent_key, 'key_hash', value })
  fields[2] = 'agent.key_rotated'
elseif op == 'revoke' then
  tx_write(tx, { 'HSET', agent_key, 'status', 'revoked' })
  status = 'revoked'
  fields[2] = 'agent.revoked'
elseif op == 'unrevoke' then
  tx_write(tx, { 'HSET', agent_key, 'status', 'active', 'key_hash', value })
  status = 'active'
  fields[2] = 'agent.unrevoked'
elseif op == 'rate_limit' then
  for i, f in ipairs({ 'rl_rate', 'rl_burst' }) do
    local v = ({ value, burst })[i]
    if v == '' then
      tx_write(tx, { 'HDEL', agent_key, f })
    else
      tx_write(tx, { 'HSET', agent_key, f, v })
    end
    fields[#fields + 1] = f
    fields[#fields + 1] = (v == '' and 'default') or v
  end
  fields[2] = 'agent.rate_limit_set'
else
  return tx_finish(tx, { r = 'error', error = 'bad_op' })
end
local aid = tx_audit(tx, fields)
return tx_finish(tx, { r = 'ok', old_key_hash = old, status = status, audit_event_id = aid })
