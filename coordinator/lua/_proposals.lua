-- _proposals.lua: the multi-slot proposal state machine (the Chronary-style proposal flow), shared by every
-- proposal_*.lua script. Each script is one transition; all of them run the same
-- checks here, so two participants answering at once, an answer racing a resolve,
-- or a resolve racing the expiry are serialised by Redis and cannot corrupt a record.
--
-- Every proposal script takes the same KEYS and ARGV:
--   KEYS[1] P..'owner'   KEYS[2] P..'proposals'   KEYS[3] P..'audit'
--   KEYS[4] P..'agent:<caller>'   KEYS[5] P..'agents'
--   ARGV[1] SHA-256 of the caller's API key ('' = the coordinator acting for the owner)
--   ARGV[2] JSON {rate, burst} default limits   ARGV[3] caller agent_id ('' = owner)
--   ARGV[4] proposal id   ARGV[5] JSON payload of the transition
--
-- Keys written (any proposal script): P..'agent:<caller>' (token), P..'proposals',
--   P..'audit', P..'owner' (audit head), P..'outbox' (with webhooks).
--   Every script opens a plan in open_proposal and answers through tx_finish.
--
-- P..'proposals' is a hash: proposal id -> JSON record
--   id, title, description, calendar_id, organizer_agent_id, participant_agent_ids[],
--   slots[{id, start_ms, end_ms, weight_u, calendar_id}]  (weight_u = weight in
--     millionths, so scores add exactly: no 0.1 + 0.2 surprises in a tie)
--   responses {agent_id -> {response, selected_slot_id?, counter_slots?, message?,
--     responded_ms, audit_event_id}}, n_responses
--   status pending|confirmed|cancelled|expired, reason?, expires_ms, created_ms, updated_ms
--   resolving? {slot_id, token, lease_ms, idem_key, by}: a resolution is booking its
--     slot through the normal commit path (outside this script, so it waits out the
--     arbitration window like every other write); the lease lets anyone settle it if
--     the resolver died
--   failures[{slot_id, cause, detail, winning_*, audit_event_id, at_ms}]: slots a
--     resolution could not book; later resolutions skip them
--   resolved_slot_id?, created_event_id? (the booking), attempts

-- Bind KEYS and ARGV to names (coordinator/store/calls.py, proposal(), packs them).
local owner_key, caller_key, agents_key = KEYS[1], KEYS[4], KEYS[5]
local caller_key_hash, limits_json, caller = ARGV[1], ARGV[2], ARGV[3]
local proposal_id, payload_json = ARGV[4], ARGV[5]

local SCORE_U = { accept = 1000000, counter = 300000, decline = 0 }

local function load_proposal(P, id)
  local raw = redis.call('HGET', P .. 'proposals', id)
  if not raw then return nil end
  local p = cjson.decode(raw)
  -- cjson turns an empty array into {}; keep the arrays arrays.
  if next(p.failures or {}) == nil then p.failures = {} end
  return p
end

-- Planned, encoded when the plan is sealed (so later changes to p are included).
-- An empty Lua table encodes as {}; the Python side reads it as an empty list.
local function save_proposal(tx, p)
  p.updated_ms = tx.now
  tx_write_json(tx, { 'HSET', tx.P .. 'proposals', p.id, false }, 4, p)
end

local function find_slot(p, slot_id)
  for _, s in ipairs(p.slots) do
    if s.id == slot_id then return s end
  end
  return nil
end

local function is_participant(p, agent_id)
  for _, a in ipairs(p.participant_agent_ids) do
    if a == agent_id then return true end
  end
  return false
end

-- The webhook outbox entry for a proposal event (only when the owner has endpoints).
local function emit_proposal(tx, event_type, audit_id, p, extra)
  if not has_hooks(tx.P) then return end
  local data = {
    proposal_id = p.id, calendar_id = p.calendar_id, status = p.status, title = p.title,
    organizer_agent_id = p.organizer_agent_id,
  }
  if extra then for k, v in pairs(extra) do data[k] = v end end
  tx_outbox_add(tx, event_type, audit_id, data, 0)
end

local function proposal_audit(tx, kind, p, fields)
  local f = { 'type', kind, 'ts', ms(tx.now), 'proposal_id', p.id }
  for i = 1, #fields do f[#f + 1] = fields[i] end
  return tx_audit(tx, f)
end

local function slot_event(s)
  return { id = s.id, start_ms = s.start_ms, end_ms = s.end_ms,
    weight = s.weight_u / 1000000, calendar_id = s.calendar_id }
end

-- A terminal transition: confirmed, cancelled or expired. Audited and announced.
local function proposal_end(tx, p, status, reason, fields, extra)
  p.status = status
  p.reason = reason
  p.resolving = nil
  p.ended_ms = tx.now
  local f = fields or {}
  if reason then f[#f + 1] = 'reason'; f[#f + 1] = reason end
  local aid = proposal_audit(tx, 'proposal.' .. status, p, f)
  p.end_audit_id = aid
  save_proposal(tx, p)
  local data = extra or {}
  if reason then data.reason = reason end
  emit_proposal(tx, 'proposal.' .. status, aid, p, data)
  return aid
end

local function confirm(tx, p, slot, booking_id)
  p.resolved_slot_id = slot.id
  p.created_event_id = booking_id
  return proposal_end(tx, p, 'confirmed', nil,
    { 'slot_id', slot.id, 'booking_id', booking_id, 'agent_id', p.organizer_agent_id },
    { resolved_slot = slot_event(slot), created_event_id = booking_id })
end

-- Record that a resolution could not book its slot; the proposal stays pending.
local function record_failure(tx, p, outcome)
  local now = tx.now
  local slot_id = p.resolving.slot_id
  p.resolving = nil
  local f = {
    slot_id = slot_id, cause = outcome.cause or 'failed', detail = outcome.detail,
    winning_booking_id = outcome.winning_booking_id,
    winning_agent_id = outcome.winning_agent_id,
    winning_agent_priority = outcome.winning_agent_priority,
    your_priority = outcome.your_priority, consent_request_id = outcome.consent_request_id,
    booking_id = outcome.booking_id, at_ms = now,
  }
  local fields = { 'slot_id', slot_id, 'cause', f.cause }
  if f.booking_id then  -- the resolution's own booking (its trail shows this entry)
    fields[#fields + 1] = 'booking_id'; fields[#fields + 1] = f.booking_id
  end
  if f.winning_booking_id then
    fields[#fields + 1] = 'winning_booking_id'; fields[#fields + 1] = f.winning_booking_id
  end
  if f.winning_agent_id then
    fields[#fields + 1] = 'winning_agent_id'; fields[#fields + 1] = f.winning_agent_id
    fields[#fields + 1] = 'winning_agent_priority'
    fields[#fields + 1] = ms(f.winning_agent_priority or 0)
  end
  f.audit_event_id = proposal_audit(tx, 'proposal.resolution_failed', p, fields)
  p.failures[#p.failures + 1] = f
  save_proposal(tx, p)
  return f
end

-- A resolution whose lease ran out (its resolver died, or is very late): settle it from
-- what the commit path left behind, found by the resolution's own idempotency key.
-- Returns 'busy' while the lease holds (or the booking's window is still open).
local function settle_stale(tx, p)
  local P, now = tx.P, tx.now
  local r = p.resolving
  if not r then return 'none' end
  if r.lease_ms > now then return 'busy' end
  local stored = redis.call('GET', P .. 'idem:' .. p.organizer_agent_id .. ':' .. r.idem_key)
  if stored then
    local s = idem_decode(stored)
    if s.r == 'ok' then
      local b = load_booking(P, s.id)
      if b and b.status == 'COMMITTED' then
        if (b.arb_until_ms or 0) > now then return 'busy' end
        confirm(tx, p, find_slot(p, r.slot_id), b.id)
        return 'confirmed'
      end
      record_failure(tx, p, { cause = 'lost', booking_id = s.id,
        winning_booking_id = b and b.ended_by or nil,
        winning_agent_id = b and b.ended_by_agent_id or nil,
        winning_agent_priority = b and b.ended_by_priority or nil,
        detail = 'the resolution booking did not survive' })
      return 'failed'
    end
    local c = s.c or {}
    record_failure(tx, p, { cause = c.reason or 'outranked', detail = 'slot taken',
      winning_booking_id = c.winning_booking_id, winning_agent_id = c.winning_agent_id,
      winning_agent_priority = c.winning_agent_priority })
    return 'failed'
  end
  -- The resolver never reached the commit: nothing to undo, nothing learned.
  p.resolving = nil
  proposal_audit(tx, 'proposal.resolution_abandoned', p, { 'slot_id', r.slot_id })
  save_proposal(tx, p)
  return 'abandoned'
end

-- Lapse a pending proposal whose expires_at has passed. A resolution in flight gets
-- to finish first (it started before the deadline); the timer comes back for it.
local function expire_if_due(tx, p)
  if p.status ~= 'pending' or tx.now < p.expires_ms then return p end
  if p.resolving then
    local st = settle_stale(tx, p)
    if st == 'busy' or st == 'confirmed' then return p end
  end
  proposal_end(tx, p, 'expired', nil, {}, nil)
  return p
end

-- the proposal flow's pickBestSlot: score = weight + sum over answers naming the slot
-- (accept 1.0, counter 0.3, decline 0); ties go to the earliest start, then to the
-- order the organizer listed. Slots a resolution already failed to book are skipped.
-- Returns slot, nil | nil, 'all_declined' | nil, 'no_slot_left'.
local function pick_slot(p)
  local scores, n, declines = {}, 0, 0
  for _, r in pairs(p.responses) do
    n = n + 1
    if r.response == 'decline' then declines = declines + 1 end
    if r.selected_slot_id then
      scores[r.selected_slot_id] = (scores[r.selected_slot_id] or 0) + SCORE_U[r.response]
    end
  end
  if n > 0 and declines == n then return nil, 'all_declined' end
  local failed = {}
  for _, f in ipairs(p.failures) do failed[f.slot_id] = true end
  local best, best_score = nil, nil
  for _, s in ipairs(p.slots) do
    if not failed[s.id] then
      local sc = s.weight_u + (scores[s.id] or 0)
      if not best or sc > best_score or (sc == best_score and s.start_ms < best.start_ms) then
        best, best_score = s, sc
      end
    end
  end
  if not best then return nil, 'no_slot_left' end
  return best, nil
end

-- Start a resolution: pick the slot and take the lease, or end the proposal
-- (all declined). Returns a reply table for the caller to act on.
local function begin_resolution(tx, p, by, lease_ms)
  local P, now = tx.P, tx.now
  local slot, why = pick_slot(p)
  if why == 'all_declined' then
    proposal_end(tx, p, 'cancelled', 'all_declined', { 'by', by }, nil)
    return { outcome = 'cancelled' }
  end
  if not slot then
    return { outcome = 'no_slot_left' }
  end
  local st = redis.call('HGET', P .. 'agent:' .. p.organizer_agent_id, 'status')
  if st ~= 'active' then
    return { outcome = 'organizer_inactive' }
  end
  p.attempts = (p.attempts or 0) + 1
  p.resolving = {
    slot_id = slot.id, token = p.id .. ':' .. ms(p.attempts), lease_ms = now + lease_ms,
    idem_key = 'proposal:' .. p.id .. ':' .. ms(p.attempts), by = by,
  }
  proposal_audit(tx, 'proposal.resolving', p,
    { 'slot_id', slot.id, 'by', by, 'agent_id', p.organizer_agent_id })
  save_proposal(tx, p)
  return { outcome = 'booking', slot = slot, resolving = p.resolving }
end

-- The common head of every agent-facing proposal script: key, scope, token, record,
-- lazy expiry. Returns the plan (always), then p or nil, then an error reply or nil;
-- the script answers through tx_finish(tx, ...) either way, so a token taken is kept.
local function open_proposal(scope, need_record)
  local tx = tx_new(prefix_of(owner_key), now_ms())
  local refused = tx_authorize(tx, caller_key, caller_key_hash, scope, cjson.decode(limits_json))
  if refused then return tx, nil, refused end
  if redis.call('EXISTS', owner_key) == 0 then
    return tx, nil, { r = 'error', error = 'owner_unknown' }
  end
  fault('opened')
  if not need_record then return tx, nil, nil end
  local p = load_proposal(tx.P, proposal_id)
  if not p then return tx, nil, { r = 'error', error = 'not_found' } end
  return tx, expire_if_due(tx, p), nil
end

-- The organizer's gate, shared by resolve and cancel: only the organizer (or the owner,
-- ARGV[3] = ''), only while pending, and not while a live resolution holds the lease
-- (acting under it would strand its booking). Returns an error reply or nil.
local function organizer_gate(tx, p)
  local now = tx.now
  if caller ~= '' and caller ~= p.organizer_agent_id then
    return { r = 'error', error = 'forbidden' }
  end
  if p.status == 'pending' and p.resolving and settle_stale(tx, p) == 'busy' then
    return { r = 'error', error = 'resolution_in_progress', proposal = p,
      retry_after_ms = math.max(1, p.resolving.lease_ms - now) }
  end
  if p.status ~= 'pending' then
    return { r = 'error', error = 'not_pending', proposal = p }
  end
  return nil
end
