-- approval_read.lua: one approval as it stands, lapsing it first if its time ran out.
-- @include _access.lua
-- @include _approvals.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'approvals'  KEYS[3] P..'bookings'  KEYS[4] P..'audit'
-- KEYS[5] P..'agent:<agent_id>'  (for an agent's read: its key, scope and token bucket)
-- ARGV[1] approval id  ARGV[2] SHA-256 of the caller's API key ('' = the owner)
-- ARGV[3] JSON {rate, burst} default limits  ARGV[4] the caller's agent_id
-- Returns JSON {r='ok', approval, now} | {r='error', error='not_found'|'forbidden'|...}
-- Lapsing is a state change (audited, the parked hold ends with it), so it happens
-- here, once, and every reader sees the same terminal state.
-- Keys written: P..'agent:<agent_id>' (token); when the request lapses: P..'approvals',
--   P..'apwake:<id>', P..'audit', P..'owner' (audit head) and the
--   parked hold (P..'bookings', its buckets, P..'outbox').
-- Bind KEYS and ARGV to names (coordinator/store/calls.py packs them in this order).
local owner_key, approvals_key, bookings_key, audit_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local agent_key = KEYS[5]
local approval_id, key_hash, limits_json, caller = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local tx = tx_new(prefix_of(owner_key), now_ms())
if key_hash ~= '' then
  local refused = tx_authorize(tx, agent_key, key_hash, 'approvals:request',
    cjson.decode(limits_json))
  if refused then return tx_finish(tx, refused) end
end
fault('opened')
local raw = redis.call('HGET', approvals_key, approval_id)
if not raw then return tx_finish(tx, { r = 'error', error = 'not_found' }) end
local a = cjson.decode(raw)
if key_hash ~= '' and a.agent_id ~= caller then
  return tx_finish(tx, { r = 'error', error = 'forbidden' })
end
a = tx_expire_approval_if_due(tx, approvals_key, a)
return tx_finish(tx, { r = 'ok', approval = a, now = tx.now })
