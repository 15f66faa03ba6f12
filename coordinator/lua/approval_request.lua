-- approval_request.lua: an agent asks a person to approve an action (any action).
-- @include _access.lua
-- @include _approvals.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'approvals'  KEYS[3] P..'agent:<agent_id>'
-- KEYS[4] P..'rl:<agent_id>'  KEYS[5] P..'audit'
-- ARGV[1] SHA-256 of the caller's API key (scope approvals:request)
-- ARGV[2] JSON {rate, burst} default limits  ARGV[3] agent_id  ARGV[4] approval id
-- ARGV[5] JSON {action_type, summary, evidence_json, ttl_ms}
-- Returns JSON {r='ok', approval, replay?} | {r='error', error=...}
-- The id is derived from the caller's idempotency key when it gave one, so a retried
-- request finds (and returns) the approval it opened.
-- Keys written: P..'rl:<agent_id>', P..'approvals', P..'audit', P..'owner' (audit head);
--   a replay that finds the request lapsed writes what approval_read.lua does.
local tx = tx_new(prefix_of(KEYS[1]), now_ms())
local now = tx.now
local refused = tx_authorize(tx, KEYS[3], KEYS[4], ARGV[1], 'approvals:request',
  cjson.decode(ARGV[2]))
if refused then return tx_finish(tx, refused) end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return tx_finish(tx, { r = 'error', error = 'owner_unknown' })
end
fault('opened')
local id = ARGV[4]
local raw = redis.call('HGET', KEYS[2], id)
if raw then
  local a = tx_expire_approval_if_due(tx, KEYS[2], cjson.decode(raw))
  return tx_finish(tx, { r = 'ok', approval = a, now = now, replay = true })
end
local req = cjson.decode(ARGV[5])
local a = {
  id = id, kind = 'generic', status = 'pending', agent_id = ARGV[3],
  action_type = req.action_type, summary = req.summary, evidence_json = req.evidence_json,
  created_ms = now, expires_ms = now + tonumber(req.ttl_ms),
}
a.audit_event_id = tx_audit(tx, { 'type', 'approval.requested', 'ts', ms(now), 'approval_id', id,
  'kind', 'generic', 'agent_id', ARGV[3], 'action_type', req.action_type,
  'summary', req.summary, 'expires', ms(a.expires_ms) }, nil)
tx_save_approval(tx, KEYS[2], a)
return tx_finish(tx, { r = 'ok', approval = a, now = now })
