-- approval_resolve.lua: a person decides an approval request (owner side, no key).
-- @include _approvals.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'approvals'  KEYS[3] P..'bookings'  KEYS[4] P..'audit'
-- ARGV[1] approval id  ARGV[2] 'approved' | 'denied'  ARGV[3] note ('' = none)
-- Returns JSON {r='ok', approval, now} | {r='error', error='not_found'|'expired'|
--   'decided'|'commit_required', approval?}
-- Denying a parked commit releases its hold in the same step. Approving a parked
-- commit is not done here: the commit must win its slot through the normal claim,
-- so it is a commit.lua call carrying the approval id (see _gate.lua).
local P = prefix_of(KEYS[1])
local now = now_ms()
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return cjson.encode({ r = 'error', error = 'not_found' }) end
local a = expire_approval_if_due(P, KEYS[2], cjson.decode(raw), now)
if a.status == 'expired' then return cjson.encode({ r = 'error', error = 'expired', approval = a }) end
if a.status ~= 'pending' then
  return cjson.encode({ r = 'error', error = 'decided', approval = a })
end
if ARGV[3] ~= '' then a.note = ARGV[3] end
if ARGV[2] == 'approved' then
  if a.kind == 'booking' then
    return cjson.encode({ r = 'error', error = 'commit_required', approval = a })
  end
  decide_approval(P, KEYS[2], a, 'approved', now, nil, nil)
  return cjson.encode({ r = 'ok', approval = a, now = now })
end
local ids = nil
if a.kind == 'booking' and a.hold_id then
  ids = { a.hold_id }
  local h = load_booking(P, a.hold_id)
  if h and is_live(h, now) and h.status == 'HOLD' then
    end_booking(P, h, 'RELEASED', now, { ended_by_approval = a.id }, 'hold.released',
      { 'approval_id', a.id })
  end
end
decide_approval(P, KEYS[2], a, 'denied', now, nil, ids)
return cjson.encode({ r = 'ok', approval = a, now = now })
