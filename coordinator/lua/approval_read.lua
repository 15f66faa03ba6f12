-- approval_read.lua: one approval as it stands, lapsing it first if its time ran out.
-- @include _access.lua
-- @include _approvals.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'approvals'  KEYS[3] P..'bookings'  KEYS[4] P..'audit'
-- KEYS[5] P..'agent:<agent_id>'  KEYS[6] P..'rl:<agent_id>'  (for an agent's read)
-- ARGV[1] approval id  ARGV[2] SHA-256 of the caller's API key ('' = the owner)
-- ARGV[3] JSON {rate, burst} default limits  ARGV[4] the caller's agent_id
-- Returns JSON {r='ok', approval, now} | {r='error', error='not_found'|'forbidden'|...}
-- Lapsing is a state change (audited, the parked hold ends with it), so it happens
-- here, once, and every reader sees the same terminal state.
-- Keys written: P..'rl:<agent_id>' (token); when the request lapses: P..'approvals',
--   P..'apwake:<id>', P..'audit', P..'bkgaudit:*', P..'owner' (audit head) and the
--   parked hold (P..'bookings', its buckets, P..'outbox').
local tx = tx_new(prefix_of(KEYS[1]), now_ms())
if ARGV[2] ~= '' then
  local refused = tx_authorize(tx, KEYS[5], KEYS[6], ARGV[2], 'approvals:request',
    cjson.decode(ARGV[3]))
  if refused then return tx_finish(tx, refused) end
end
fault('opened')
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return tx_finish(tx, { r = 'error', error = 'not_found' }) end
local a = cjson.decode(raw)
if ARGV[2] ~= '' and a.agent_id ~= ARGV[4] then
  return tx_finish(tx, { r = 'error', error = 'forbidden' })
end
a = tx_expire_approval_if_due(tx, KEYS[2], a)
return tx_finish(tx, { r = 'ok', approval = a, now = tx.now })
