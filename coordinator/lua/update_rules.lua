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
-- Bind KEYS and ARGV to names (coordinator/store/calls.py packs them in this order).
local owner_key, audit_key = KEYS[1], KEYS[2]
local base_version, rules_json, new_tz, changed = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local tx = tx_new(prefix_of(owner_key), now_ms())
local now = tx.now
local o = redis.call('HMGET', owner_key, 'user_id', 'rules_version', 'timezone', 'rules')
if not o[1] then return tx_finish(tx, { r = 'error', error = 'owner_unknown' }) end
local rv = tonumber(o[2]) or 1
if rv ~= tonumber(base_version) then
  return tx_finish(tx, { r = 'rules_changed', rules_version = rv, timezone = o[3] or 'UTC',
    rules = o[4] or '' })
end
fault('opened')
rv = rv + 1
local tz = o[3] or 'UTC'
if new_tz ~= '' then tz = new_tz end
tx_write(tx, { 'HSET', owner_key, 'rules_version', rv, 'timezone', tz })
if rules_json == '' then
  tx_write(tx, { 'HDEL', owner_key, 'rules' })
else
  tx_write(tx, { 'HSET', owner_key, 'rules', rules_json })
end
local aid = tx_audit(tx, {
  'type', 'rules.updated', 'ts', ms(now), 'user_id', o[1], 'rules_version', ms(rv),
  'changed', changed, 'timezone', tz, 'rules', rules_json,
})
return tx_finish(tx, { r = 'ok', rules_version = rv, timezone = tz, rules = rules_json,
  audit_event_id = aid })
