-- approval_request.lua: an agent asks a person to approve an action (any action).
-- @include _access.lua
-- @include _approvals.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'approvals'  KEYS[3] P..'agent:<agent_id>'
-- KEYS[4] P..'audit'
-- ARGV[1] SHA-256 of the caller's API key (scope approvals:request)
-- ARGV[2] JSON {rate, burst} default limits  ARGV[3] agent_id  ARGV[4] approval id
-- ARGV[5] JSON {action_type, summary, evidence_json, ttl_ms}
-- Returns JSON {r='ok', approval, replay?} | {r='error', error=...}
-- The id is derived from the caller's idempotency key when it gave one, so a retried
-- request finds (and returns) the approval it opened.
-- Keys written: P..'agent:<agent_id>' (token), P..'approvals', P..'audit', P..'owner' (audit head);
--   a replay that finds the request lapsed writes what approval_read.lua does.
-- Bind KEYS and ARGV to names (coordinator/store/calls.py packs them in this order).
local owner_key, approvals_key, agent_key = KEYS[1], KEYS[2], KEYS[3]
local audit_key = KEYS[4]
local key_hash, limits_json, agent_id, approval_id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local request_json = ARGV[5]
local tx = tx_new(prefix_of(owner_key), now_ms())
local now = tx.now
local refused = tx_authorize(tx, agent_key, key_hash, 'approvals:request',
  cjson.decode(limits_json))
if refused then return tx_finish(tx, refused) end
if redis.call('EXISTS', owner_key) == 0 then
  return tx_finish(tx, { r = 'error', error = 'owner_unknown' })
end
fault('opened')
local id = approval_id
local raw = redis.call('HGET', approvals_key, id)
if raw then
  local a = tx_expire_approval_if_due(tx, approvals_key, cjson.decode(raw))
  return tx_finish(tx, { r = 'ok', approval = a, now = now, replay = true })
end
local req = cjson.decode(request_json)
local a = {
  id = id, kind = 'generic', status = 'pending', agent_id = agent_id,
  action_type = req.action_type, summary = req.summary, evidence_json = req.evidence_json,
  created_ms = now, expires_ms = now + tonumber(req.ttl_ms),
}
a.audit_event_id = tx_audit(tx, { 'type', 'approval.requested', 'ts', ms(now), 'approval_id', id,
  'kind', 'generic', 'agent_id', agent_id, 'action_type', req.action_type,
  'summary', req.summary, 'expires', ms(a.expires_ms) })
tx_save_approval(tx, approvals_key, a)
return tx_finish(tx, { r = 'ok', approval = a, now = now })
