-- approval_resolve.lua: a person decides an approval request (owner side, no key).
-- @include _approvals.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'approvals'  KEYS[3] P..'bookings'  KEYS[4] P..'audit'
-- ARGV[1] approval id  ARGV[2] 'approved' | 'denied'  ARGV[3] note ('' = none)
-- Returns JSON {r='ok', approval, now} | {r='error', error='not_found'|'expired'|
--   'decided'|'commit_required', approval?}
-- Denying a parked commit releases its hold in the same step. Approving a parked
-- commit is not done here: the commit must win its slot through the normal claim,
-- so it is a commit.lua call carrying the approval id (see _gate.lua).
-- Keys written: P..'approvals', P..'apwake:<id>', P..'audit',
--   P..'owner' (audit head); a denied parked commit also ends its hold (P..'bookings',
--   its buckets, P..'outbox').
-- Bind KEYS and ARGV to names (coordinator/store/calls.py packs them in this order).
local owner_key, approvals_key, bookings_key, audit_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local approval_id, decision, note = ARGV[1], ARGV[2], ARGV[3]
local P = prefix_of(owner_key)
local tx = tx_new(P, now_ms())
local now = tx.now
fault('opened')
local raw = redis.call('HGET', approvals_key, approval_id)
if not raw then return tx_finish(tx, { r = 'error', error = 'not_found' }) end
local a = tx_expire_approval_if_due(tx, approvals_key, cjson.decode(raw))
if a.status == 'expired' then
  return tx_finish(tx, { r = 'error', error = 'expired', approval = a })
end
if a.status ~= 'pending' then
  return tx_finish(tx, { r = 'error', error = 'decided', approval = a })
end
if note ~= '' then a.note = note end
if decision == 'approved' then
  if a.kind == 'booking' then
    return tx_finish(tx, { r = 'error', error = 'commit_required', approval = a })
  end
  tx_decide_approval(tx, approvals_key, a, 'approved', nil)
  return tx_finish(tx, { r = 'ok', approval = a, now = now })
end
if a.kind == 'booking' and a.hold_id then
  local h = load_booking(P, a.hold_id)
  if h and is_live(h, now) and h.status == 'HOLD' then
    tx_end_booking(tx, h, 'RELEASED', { ended_by_approval = a.id }, 'hold.released',
      { 'approval_id', a.id })
  end
end
tx_decide_approval(tx, approvals_key, a, 'denied', nil)
return tx_finish(tx, { r = 'ok', approval = a, now = now })
