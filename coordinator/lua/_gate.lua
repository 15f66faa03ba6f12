-- _gate.lua: the owner's rules, scopes and rate limit inside the claim. Included by
-- hold.lua and commit.lua ahead of _claim.lua, which calls these functions at fixed
-- points (after the key check, before the occupants are judged, before the buckets
-- are written, after).
--
-- Who judges what:
--   * Python judges the wall-clock rules (working hours, focus blocks, the approval
--     gate) against a snapshot of the owner's rules and timezone, and sends its
--     verdict with the snapshot's rules_version. gate_open refuses a verdict made on
--     another version (r='rules_changed', carrying the current rules, so the caller
--     judges again and resends; nothing is written, no token is taken).
--   * This script judges what needs the server clock or the live calendar: the lead
--     time (server `now`) and the daily cap, counted from the bucket map in this same
--     atomic step, so two writes racing for the last meeting of a day cannot both pass.
--
-- The claim's checks JSON (q.checks, see _claim.lua), keys absent when unused (cjson
-- turns null into a truthy value):
--     scope         'bookings:write'
--     limits        {rate, burst}: default token bucket (the agent hash may override)
--     rv            rules_version the verdict was made on
--     etag_rv?      rules_version of the availability etag the caller presented
--     violation?    'outside_working_hours' | 'focus_block', with detail
--     lead_ms       minimum lead time (0 = none), against the server clock
--     cap?          daily meeting cap; cap_lo_ms/cap_hi_ms bound the booking's local
--                   day; cap_days = the UTC day numbers of q.cap_keys; local_date
--     consent?      {id, action, reason, request_json}: park this write (a hold, TTL in
--                   q.hold_ttl_ms) and open an approval request for it
--     approve?      approval id: this commit is a person approving a parked one
--     plain_reply?  1: a plain commit's outright win may be answered with _plain.lua's
--                   array instead of the JSON reply (the packer's template asks)
--   Every reply a gate returns is one of {r='error', error=...} (see _access.lua and
--   'stale_availability', 'rule_violation' {rule, detail, ...}, 'approval_*') or
--   {r='rules_changed', rules_version, timezone, rules}. Gates only plan writes (in
--   `tx`); the claim applies them with its own.

-- Each checks text's decoded table, kept for the next call (an agent sends the same
-- checks with every plain commit until its owner's rules change; decoding them was
-- ~10,000 instructions of each), up to 256 texts. No gate writes into its checks.
local CHECKS = { n = 0, seen = {} }
local function decoded_checks(text)
  return kept(CHECKS, text, cjson.decode, 256)
end

local function gate_open(tx, q)
  local g = { key_hash = q.key_hash, ap_key = q.approvals_key, cap_keys = q.cap_keys }
  -- The owner's fields the whole claim reads, in one HMGET: its user_id (every owner
  -- hash has one: without it the owner is unknown, the first refusal), the rules'
  -- version, the arbitration window (q.arb_window_ms, for claim_take) and the audit
  -- chain's head.
  local o = redis.call('HMGET', q.owner_key, 'user_id', 'rules_version', 'arb_window_ms',
    unpack(OWNER_AUDIT))
  if not o[1] then g.reply = { r = 'error', error = 'owner_unknown' }; return g end
  g.checks = decoded_checks(q.checks)
  local c = g.checks
  local a = g.key_hash ~= '' and agent_access(q.agent_key) or nil
  local denied = check_key(q.agent_key, g.key_hash, c.scope, a)
  if denied then g.reply = denied; return g end
  q.arb_window_ms = o[3]
  owner_audit(tx, o, 4)
  g.rv = tonumber(o[2]) or 1
  if g.rv ~= tonumber(c.rv) then
    local r = redis.call('HMGET', q.owner_key, 'timezone', 'rules')
    g.reply = { r = 'rules_changed', rules_version = g.rv, timezone = r[1] or 'UTC',
      rules = r[2] or '' }
    return g
  end
  if g.key_hash ~= '' then
    local limited = tx_take_token(tx, q.agent_key, c.limits, a)
    if limited then g.reply = limited; return g end
  end
  return g
end

-- After idempotency and before the occupants: etag, the Python verdict, lead time,
-- and (for a person approving a parked commit) the approval's state.
local function gate_rules(tx, g, q, rec)
  local c, P, now = g.checks, tx.P, tx.now
  if c.etag_rv and tonumber(c.etag_rv) ~= g.rv then
    return { r = 'error', error = 'stale_availability', rules_version = g.rv }
  end
  if c.approve then
    local raw = redis.call('HGET', g.ap_key, c.approve)
    if not raw then return { r = 'error', error = 'approval_not_found' } end
    local a = tx_expire_approval_if_due(tx, g.ap_key, cjson.decode(raw))
    if a.status == 'expired' then return { r = 'error', error = 'approval_expired' } end
    if a.status ~= 'pending' then
      return { r = 'error', error = 'approval_decided', status = a.status }
    end
    if redis.call('HGET', q.agent_key, 'status') ~= 'active' then
      return { r = 'error', error = 'approval_agent_revoked' }
    end
    g.approval = a
  end
  if c.violation then
    return { r = 'error', error = 'rule_violation', rule = c.violation, detail = c.detail }
  end
  local lead = tonumber(c.lead_ms) or 0
  if lead > 0 and rec.start_ms < now + lead then
    return { r = 'error', error = 'rule_violation', rule = 'lead_time_not_met',
      earliest_ms = now + lead, now = now }
  end
  return nil
end

-- Before the buckets are written: would this booking exceed the daily cap of its
-- local day? Counts live bookings that start that day, leaving out those this write
-- is about to end (`ending`: id -> true) and adding itself.
local function gate_cap(tx, g, ending)
  local c, P, now = g.checks, tx.P, tx.now
  local cap = tonumber(c.cap) or 0
  if cap <= 0 then return nil end
  local lo, hi = tonumber(c.cap_lo_ms), tonumber(c.cap_hi_ms)
  local lo_b, hi_b = math.floor(lo / 300000), math.ceil(hi / 300000)
  local seen, count = {}, 1
  for j, day in ipairs(c.cap_days) do
    local flat = redis.call('HGETALL', g.cap_keys[j])
    for i = 1, #flat, 2 do
      local b = tonumber(day) * BUCKETS_PER_DAY + tonumber(flat[i])
      local id = flat[i + 1]
      if b >= lo_b and b < hi_b and not seen[id] then
        seen[id] = true
        if not ending[id] then
          local o = load_booking(P, id)
          if o and is_live(o, now) and o.start_ms >= lo and o.start_ms < hi then
            count = count + 1
          end
        end
      end
    end
  end
  if count > cap then
    return { r = 'error', error = 'rule_violation', rule = 'daily_cap_reached',
      daily_cap = cap, local_date = c.local_date }
  end
  return nil
end

-- The claim lost: a person's approval still counts as decided, with its outcome.
local function gate_lost(tx, g, conflict)
  if not g.approval then return end
  local a = g.approval
  a.outcome = 'conflict'
  a.winning_booking_id = conflict.winning_booking_id
  tx_decide_approval(tx, g.ap_key, a, 'approved',
    { 'outcome', 'conflict', 'winner_booking_id', conflict.winning_booking_id })
end

-- The claim won (called before the record is saved): open the approval request for a
-- parked write, or close the approval a person just gave.
local function gate_won(tx, g, rec)
  local c, now = g.checks, tx.now
  if c.consent then
    local a = {
      id = c.consent.id, kind = 'booking', status = 'pending', agent_id = rec.agent_id,
      action_type = c.consent.action, summary = c.consent.reason,
      evidence_json = c.consent.request_json, request_json = c.consent.request_json,
      hold_id = rec.id, created_ms = now, expires_ms = rec.expires_ms,
    }
    a.audit_event_id = tx_audit(tx, {
      'type', 'approval.requested', 'ts', ms(now), 'approval_id', a.id, 'kind', 'booking',
      'agent_id', rec.agent_id, 'booking_id', rec.id, 'reason', c.consent.reason,
      'expires', ms(a.expires_ms),
    })
    tx_save_approval(tx, g.ap_key, a)
    rec.consent_id = a.id
    return { consent_request_id = a.id, expires_ms = a.expires_ms, action = a.action_type }
  end
  if g.approval then
    local a = g.approval
    a.outcome = 'committed'
    a.booking_id = rec.id
    tx_decide_approval(tx, g.ap_key, a, 'approved',
      { 'outcome', 'committed', 'booking_id', rec.id })
    rec.approval_id = a.id
  end
  return nil
end
