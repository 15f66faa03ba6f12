-- create_owner.lua: register a calendar owner.
-- KEYS[1] P..'owner'  KEYS[2] P..'audit'
-- ARGV[1] user_id  ARGV[2] IANA timezone
-- Returns JSON {r='ok', owner} | {r='error', error='exists'}
local P = prefix_of(KEYS[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
  return cjson.encode({ r = 'error', error = 'exists' })
end
local now = now_ms()
redis.call('HSET', KEYS[1], 'user_id', ARGV[1], 'timezone', ARGV[2], 'created_ms', ms(now),
  'rules_version', '1')
local aid = audit(P, { 'type', 'owner.created', 'ts', ms(now), 'user_id', ARGV[1],
  'timezone', ARGV[2] }, nil)
return cjson.encode({ r = 'ok', owner = { user_id = ARGV[1], timezone = ARGV[2],
  created_ms = now, audit_event_id = aid } })
