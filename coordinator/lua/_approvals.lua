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

local function tx_save_approval(tx, ap_key, a)
  tx_write_json(tx, { 'HSET', ap_key, a.id, false }, 4, a)
end

local function tx_wake_approval(tx, id)
  local wk = tx.P .. 'apwake:' .. id
  tx_write(tx, { 'LPUSH', wk, '1' })
  tx_write(tx, { 'PEXPIRE', wk, 60000 })
end

-- Record a decision (or the lapse) of a pending approval, with its audit entry.
-- `extra`: flat {k1, v1, ...} audit fields. A parked hold's trail finds this entry
-- through the hold's consent_id (the approval's decided_audit_id).
local function tx_decide_approval(tx, ap_key, a, status, extra)
  a.status = status
  a.decided_ms = tx.now
  local fields = { 'type', 'approval.' .. status, 'ts', ms(tx.now), 'approval_id', a.id,
    'kind', a.kind, 'agent_id', a.agent_id }
  if extra then for i = 1, #extra do fields[#fields + 1] = extra[i] end end
  a.decided_audit_id = tx_audit(tx, fields)
  tx_save_approval(tx, ap_key, a)
  tx_wake_approval(tx, a.id)
  return a
end

-- A pending approval past its time lapses; a parked hold lapses with it (same TTL).
local function tx_expire_approval_if_due(tx, ap_key, a)
  if a.status ~= 'pending' or a.expires_ms > tx.now then return a end
  if a.kind == 'booking' and a.hold_id then
    local h = load_booking(tx.P, a.hold_id)
    if h and h.status == 'HOLD' then
      tx_end_booking(tx, h, 'EXPIRED', nil, 'hold.expired', { 'approval_id', a.id })
    end
  end
  return tx_decide_approval(tx, ap_key, a, 'expired', nil)
end
