-- create_owner.lua: register a calendar owner.
-- KEYS[1] P..'owner'  KEYS[2] P..'audit'
-- ARGV[1] user_id  ARGV[2] IANA timezone
-- Returns JSON {r='ok', owner} | {r='error', error='exists'}
-- Keys written: P..'owner', P..'audit'.
local tx = tx_new(prefix_of(KEYS[1]), now_ms())
local now = tx.now
if redis.call('EXISTS', KEYS[1]) == 1 then
  return tx_finish(tx, { r = 'error', error = 'exists' })
end
fault('opened')
tx_write(tx, { 'HSET', KEYS[1], 'user_id', ARGV[1], 'timezone', ARGV[2],
  'created_ms', ms(now), 'rules_version', '1' })
local aid = tx_audit(tx, { 'type', 'owner.created', 'ts', ms(now), 'user_id', ARGV[1],
  'timezone', ARGV[2] }, nil)
return tx_finish(tx, { r = 'ok', owner = { user_id = ARGV[1], timezone = ARGV[2],
  created_ms = now, audit_event_id = aid } })
