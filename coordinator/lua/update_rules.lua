-- update_rules.lua: replace an owner's rules and/or timezone, bump rules_version, audit.
-- KEYS[1] P..'owner'  KEYS[2] P..'audit'
-- ARGV[1] rules_version the new rules were merged onto (optimistic: two owners editing
--         different rules at once must not lose either change)
-- ARGV[2] the complete new rules JSON, stored as given ('' = no rules)
-- ARGV[3] new IANA timezone ('' = unchanged)
-- ARGV[4] comma-separated names of what changed (for the audit entry)
-- Returns JSON {r='ok', rules_version, timezone, rules, audit_event_id} |
--   {r='rules_changed', rules_version, timezone, rules} (merge again, resend) |
--   {r='error', error='owner_unknown'}
-- Every change bumps rules_version, which makes outstanding availability etags stale
-- and makes every claim judged on an older version retry (see _gate.lua).
-- Keys written: P..'owner', P..'audit'.
local tx = tx_new(prefix_of(KEYS[1]), now_ms())
local now = tx.now
local o = redis.call('HMGET', KEYS[1], 'user_id', 'rules_version', 'timezone', 'rules')
if not o[1] then return tx_finish(tx, { r = 'error', error = 'owner_unknown' }) end
local rv = tonumber(o[2]) or 1
if rv ~= tonumber(ARGV[1]) then
  return tx_finish(tx, { r = 'rules_changed', rules_version = rv, timezone = o[3] or 'UTC',
    rules = o[4] or '' })
end
fault('opened')
rv = rv + 1
local tz = o[3] or 'UTC'
if ARGV[3] ~= '' then tz = ARGV[3] end
tx_write(tx, { 'HSET', KEYS[1], 'rules_version', rv, 'timezone', tz })
if ARGV[2] == '' then
  tx_write(tx, { 'HDEL', KEYS[1], 'rules' })
else
  tx_write(tx, { 'HSET', KEYS[1], 'rules', ARGV[2] })
end
local aid = tx_audit(tx, {
  'type', 'rules.updated', 'ts', ms(now), 'user_id', o[1], 'rules_version', ms(rv),
  'changed', ARGV[4], 'timezone', tz, 'rules', ARGV[2],
}, nil)
return tx_finish(tx, { r = 'ok', rules_version = rv, timezone = tz, rules = ARGV[2],
  audit_event_id = aid })
