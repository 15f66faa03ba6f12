-- mail_owner.lua: the owner changes mail policy: takes an address off the suppression
-- list ('unsuppress'), or sets one agent's daily send cap and free-form flag ('policy').
-- @include _mail.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'audit'  KEYS[3] P..'mailsupp'  KEYS[4] P..'agent:<agent_id>'
-- ARGV[1] op  ARGV[2] address (unsuppress) | agent_id (policy)
-- ARGV[3] JSON {cap?, free_form?} (policy; absent = unchanged, null = the default)
-- Returns JSON {r='ok', suppression?} | {r='error', error='not_suppressed'|'agent_unknown'}
-- Keys written: P..'mailsupp' or P..'agent:<agent_id>', P..'audit', P..'owner'.
local owner_key, audit_key, supp_key, agent_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op, subject = ARGV[1], ARGV[2]
local change = cjson.decode(ARGV[3])
local tx = tx_new(prefix_of(owner_key), now_ms())
if redis.call('EXISTS', owner_key) == 0 then
  return tx_finish(tx, { r = 'error', error = 'owner_unknown' })
end
fault('opened')
if op == 'unsuppress' then
  local raw = redis.call('HGET', supp_key, subject)
  if not raw then return tx_finish(tx, { r = 'error', error = 'not_suppressed' }) end
  local s = cjson.decode(raw)
  tx_write(tx, { 'HDEL', supp_key, subject })
  tx_audit(tx, { 'type', 'mail.unsuppressed', 'ts', ms(tx.now), 'address', subject,
    'kind', s.kind }, nil)
  return tx_finish(tx, { r = 'ok', suppression = s })
end
if redis.call('EXISTS', agent_key) == 0 then
  return tx_finish(tx, { r = 'error', error = 'agent_unknown' })
end
local fields = { 'type', 'mail.policy', 'ts', ms(tx.now), 'agent_id', subject }
-- Each setting: absent = unchanged, null = back to the coordinator's default.
local function setting(name, field, value, encoded)
  if value == nil then return end
  if value == cjson.null then
    tx_write(tx, { 'HDEL', agent_key, field })
    fields[#fields + 1] = name; fields[#fields + 1] = 'default'
  else
    tx_write(tx, { 'HSET', agent_key, field, encoded })
    fields[#fields + 1] = name; fields[#fields + 1] = encoded
  end
end
local cap, free = change.cap, change.free_form
setting('cap', 'mail_cap', cap, type(cap) == 'number' and ms(cap) or '')
setting('free_form', 'mail_free_form', free, free == true and '1' or '0')
tx_audit(tx, fields, nil)
return tx_finish(tx, { r = 'ok' })
