-- create_owner.lua: register a calendar owner.
-- KEYS[1] P..'owner'  KEYS[2] P..'audit'
-- ARGV[1] user_id  ARGV[2] IANA timezone
-- Returns JSON {r='ok', owner} | {r='error', error='exists'}
-- Keys written: P..'owner', P..'audit'.
-- Bind KEYS and ARGV to names (coordinator/store/calls.py packs them in this order).
local owner_key, audit_key = KEYS[1], KEYS[2]
local user_id, timezone = ARGV[1], ARGV[2]
local tx = tx_new(prefix_of(owner_key), now_ms())
local now = tx.now
if redis.call('EXISTS', owner_key) == 1 then
  return tx_finish(tx, { r = 'error', error = 'exists' })
end
fault('opened')
tx_write(tx, { 'HSET', owner_key, 'user_id', user_id, 'timezone', timezone,
  'created_ms', ms(now), 'rules_version', '1' })
local aid = tx_audit(tx, { 'type', 'owner.created', 'ts', ms(now), 'user_id', user_id,
  'timezone', timezone })
return tx_finish(tx, { r = 'ok', owner = { user_id = user_id, timezone = timezone,
  created_ms = now, audit_event_id = aid } })
