-- _approvals.lua: the approval record's state machine, shared by every script that
-- can see an approval decided or lapse (the claim when a person approves a parked
-- commit, approval_read.lua, approval_resolve.lua).
--
-- P..'approvals' hash: approval id -> JSON record
--   {id, kind = 'generic'|'booking', status = 'pending'|'approved'|'denied'|'expired',
--    agent_id, action_type, summary, evidence_json, created_ms, expires_ms,
--    decided_ms?, note?, hold_id? (booking), request_json? (booking: the commit's
--    options), booking_id? and outcome? ('committed'|'conflict') once approved}
-- P..'apwake:'..id list: pushed when the approval is decided, to wake a waiting agent.
-- Terminal states never change again.

local function save_approval(ap_key, a)
  redis.call('HSET', ap_key, a.id, cjson.encode(a))
end

local function wake_approval(P, id)
  local wk = P .. 'apwake:' .. id
  redis.call('LPUSH', wk, '1')
  redis.call('PEXPIRE', wk, 60000)
end

-- Record a decision (or the lapse) of a pending approval, with its audit entry.
-- `extra`: flat {k1, v1, ...} audit fields; `booking_ids` indexes the entry.
local function decide_approval(P, ap_key, a, status, now, extra, booking_ids)
  a.status = status
  a.decided_ms = now
  local fields = { 'type', 'approval.' .. status, 'ts', ms(now), 'approval_id', a.id,
    'kind', a.kind, 'agent_id', a.agent_id }
  if extra then for i = 1, #extra do fields[#fields + 1] = extra[i] end end
  a.decided_audit_id = audit(P, fields, booking_ids)
  save_approval(ap_key, a)
  wake_approval(P, a.id)
  return a
end

-- A pending approval past its time lapses; a parked hold lapses with it (same TTL).
local function expire_approval_if_due(P, ap_key, a, now)
  if a.status ~= 'pending' or a.expires_ms > now then return a end
  local ids = nil
  if a.kind == 'booking' and a.hold_id then
    ids = { a.hold_id }
    local h = load_booking(P, a.hold_id)
    if h and h.status == 'HOLD' then
      end_booking(P, h, 'EXPIRED', now, nil, 'hold.expired', { 'approval_id', a.id })
    end
  end
  return decide_approval(P, ap_key, a, 'expired', now, nil, ids)
end
