-- _claim.lua: the check-and-set shared by hold.lua and commit.lua.
--
-- Called only through coordinator/store/calls.py (claim), which packs:
-- KEYS[1]  P..'owner'            KEYS[2]  P..'bookings'        KEYS[3] P..'agents'
-- KEYS[4]  P..'audit'            KEYS[5]  P..'idem:<agent>:<key>' (unused when idem_ttl 0)
-- KEYS[6]  P..'agent:<agent_id>' (its key hash and status are checked here, so a
--          rotated or revoked key stops at once, with no extra round trip)
-- KEYS[7]  P..'approvals'
-- KEYS[8 .. 7+n]      P..'day:<N>' for each UTC day the booking's cover touches
-- KEYS[8+n .. 7+n+m]  P..'day:<N>' for each UTC day of the booking's LOCAL day (daily cap)
-- ARGV[1]  agent_id            ARGV[2]  new booking id      ARGV[3] request hash
-- ARGV[4]  JSON of the static booking fields (start_ms, end_ms, cover_first,
--          cover_last [exclusive bucket index], title, invitee, metadata, buffers,
--          conferencing) and `digest`, the SHA-256 of the fixed ones
--          (coordinator/store/records.py fixed_digest): it goes into the creating
--          audit entry, not the record
-- ARGV[5]  hold TTL (ms)       ARGV[6]  bump window (ms) for a commit
-- ARGV[7]  coordinator-wide arbitration window (ms); the owner hash may override
-- ARGV[8]  idempotency TTL (s), '0' = no idempotency key
-- ARGV[9]  n = number of booking day keys     ARGV[10] SHA-256 of the caller's API key
-- ARGV[11] JSON checks: the owner's rules, scope and rate limit (see _gate.lua)
-- ARGV[12+2i], ARGV[13+2i] = first and last (inclusive) bucket field of booking day i
-- Returns a JSON string: {r='ok', booking, now, wait_ms, displaced, consent?} (or, for a
--   plain commit's outright win when checks.plain_reply asks, _plain.lua's array) |
--   {r='conflict', ...winner fields} | {r='replay', stored} | {r='error', error} |
--   {r='rules_changed', rules_version, timezone, rules} |
--   {r='pending', wait_for, until_ms, now}: the slot is held by a booking still inside
--     its arbitration window that a better-ranked agent may yet displace; nothing was
--     written; wait on P..'wake:'..wait_for (or until until_ms) and call again.
-- Keys written: the buckets, P..'bookings', P..'audit', P..'owner'
--   (audit head), P..'wake:*', P..'agent:<agent_id>' (token), P..'idem:*', P..'approvals',
--   P..'apwake:*', P..'outbox'.
--
-- Order of refusals: unknown owner, bad key (401), missing scope (403), rules changed
-- since the caller's verdict (retry), rate limit (429), idempotent replay, start in
-- the past (422), stale etag (410), rule violation (422), lost slot (409, after waiting
-- for the final winner), daily cap (422).
--
-- Rules, in the order they are checked for each booking found in a wanted bucket:
--   expired hold                                  -> free (expired, audited)
--   the writer's own hold                         -> absorbed (promoted/replaced)
--   inside its arbitration window, writer better  -> displaced (it is never told it won)
--   live hold, writer commits at same-or-better   -> displaced (hold.invalidated)
--   commit, writer commits strictly better, inside the victim's bump window -> evicted
--   anything else                                 -> the writer loses, nothing changes
--
-- Every step below only reads and plans (see "compute before write" in _lib.lua);
-- tx_finish applies the plan once the reply is known.

-- Step 0: bind KEYS and ARGV to names.
local function claim_args(mode)
  local n = tonumber(ARGV[9])
  local q = {
    mode = mode, owner_key = KEYS[1], bookings_key = KEYS[2], agents_key = KEYS[3],
    idem_key = KEYS[5], agent_key = KEYS[6], approvals_key = KEYS[7],
    agent_id = ARGV[1], booking_id = ARGV[2], req_hash = ARGV[3], static = ARGV[4],
    -- (each read as a number only where it is used: tonumber is a strtod, ~1,200
    -- instructions, and a plain commit has no TTL, no idempotency key and no window)
    hold_ttl_ms = mode == 'hold' and tonumber(ARGV[5]) or 0,
    bump_ms = mode == 'commit' and tonumber(ARGV[6]) or 0,
    window_ms = ARGV[7], idem_ttl = ARGV[8] == '0' and 0 or tonumber(ARGV[8]),
    key_hash = ARGV[10],
    checks = ARGV[11], days = {}, cap_keys = {},
  }
  for i = 0, n - 1 do
    q.days[#q.days + 1] = {
      key = KEYS[8 + i], first = tonumber(ARGV[12 + 2 * i]), last = tonumber(ARGV[13 + 2 * i]),
    }
  end
  for i = 8 + n, #KEYS do q.cap_keys[#q.cap_keys + 1] = KEYS[i] end
  return q
end

-- Step 2: a retried call (the reply was lost, the client resent it) finds its own
-- booking or its idempotency record.
local function claim_replay(q, now)
  if redis.call('HEXISTS', q.bookings_key, q.booking_id) == 1 then
    return { r = 'replay', stored = { r = 'ok', id = q.booking_id }, now = now }
  end
  if q.idem_ttl > 0 then
    local stored = redis.call('GET', q.idem_key)
    if stored then
      local s = idem_decode(stored)
      if not idem_matches(s, q.req_hash) then
        return { r = 'error', error = 'idempotency_mismatch' }
      end
      s.h = nil
      return { r = 'replay', stored = s, now = now }
    end
  end
  return nil
end

-- Step 3: the distinct bookings that sit in any wanted bucket.
-- A day's wanted bucket fields, as text (kept on `d`: claim_take writes the same).
local function day_fields(d)
  if not d.fields then
    local fields = {}
    for f = d.first, d.last do fields[#fields + 1] = ms(f) end
    d.fields = fields
  end
  return d.fields
end

local function claim_occupants(q)
  local seen, occupants = {}, {}
  for _, d in ipairs(q.days) do
    for _, v in ipairs(redis.call('HMGET', d.key, unpack(day_fields(d)))) do
      if v and not seen[v] then
        seen[v] = true
        occupants[#occupants + 1] = v
      end
    end
  end
  return occupants
end

-- What claim_judge finds in buckets nobody holds (read, never added to).
local NOBODY = { expire = {}, absorb = {}, displace = {}, blockers = {} }

-- Step 4: sort each occupant into what this write does to it.
local function claim_judge(P, q, prio, occupants, now)
  if #occupants == 0 then return NOBODY end
  local j = { expire = {}, absorb = {}, displace = {}, blockers = {} }
  for _, oid in ipairs(occupants) do
    local o = load_booking(P, oid)
    if o and is_live(o, now) then
      local op = live_priority(P, o.agent_id, o.priority)
      o.live_priority = op
      if o.agent_id == q.agent_id and o.status == 'HOLD' then
        j.absorb[#j.absorb + 1] = o
      elseif now < o.arb_until_ms and prio < op then
        j.displace[#j.displace + 1] = o
      elseif o.status == 'HOLD' and q.mode == 'commit' and prio <= op then
        j.displace[#j.displace + 1] = o
      elseif o.status == 'COMMITTED' and q.mode == 'commit' and prio < op
          and now < o.bump_until_ms then
        j.displace[#j.displace + 1] = o
      else
        o.reason = 'outranked'
        if o.status == 'COMMITTED' and q.mode == 'commit' and prio < op then
          o.reason = 'frozen'
        end
        j.blockers[#j.blockers + 1] = o
      end
    elseif o and o.status == 'HOLD' then
      j.expire[#j.expire + 1] = o
    end
  end
  return j
end

-- The best-ranked agent of this calendar: {agent_id, priority} ({} with no agents),
-- read once per call.
local function best_agent(q)
  if not q.best then q.best = redis.call('ZRANGE', q.agents_key, 0, 0, 'WITHSCORES') end
  return q.best
end

-- The best priority any agent of this calendar has (nil with no agents).
local function best_priority(q)
  return tonumber(best_agent(q)[2])
end

-- The writer's live priority (nil: not an agent of this calendar). The top-ranked
-- agent's comes with best_agent's read, which claim_take needs anyway.
local function writer_priority(q)
  local best = best_agent(q)
  if best[1] == q.agent_id then return best[2] end
  return redis.call('ZSCORE', q.agents_key, q.agent_id)
end

-- Step 5 (lost): the strongest blocker (best priority, then the earliest writer;
-- arrival order is the booking's audit stream id, which strictly increases per
-- calendar) is the winner to name, unless its own outcome is not yet certain.
local function claim_winner(blockers)
  local w = blockers[1]
  for _, b in ipairs(blockers) do
    if b.live_priority < w.live_priority
        or (b.live_priority == w.live_priority and stream_id_before(b.audit_event_id,
          w.audit_event_id)) then
      w = b
    end
  end
  return w
end

-- Is w's win still open? Inside its arbitration window, a better-ranked agent may
-- displace it; the loser then waits (no writes) so it can name the final winner.
local function claim_pending(q, w, now)
  if now >= w.arb_until_ms then return nil end
  local best = best_priority(q)
  if best == nil or best >= w.live_priority then return nil end
  return { r = 'pending', wait_for = w.id, until_ms = w.arb_until_ms, now = now }
end

-- Step 5 (lost, certain): audit the rejection, remember it for the idempotency key.
local function claim_lose(tx, q, g, prio, rec, w)
  local now = tx.now
  local aid = tx_audit(tx, {
    'type', 'booking.rejected', 'ts', ms(now), 'booking_id', q.booking_id,
    'agent_id', q.agent_id, 'priority', ms(prio), 'mode', q.mode,
    'cover', ms(rec.cover_first) .. '-' .. ms(rec.cover_last),
    'reason', w.reason, 'winner_booking_id', w.id, 'winner_agent_id', w.agent_id,
    'winner_priority', ms(w.live_priority),
  })
  local c = {
    reason = w.reason, winning_booking_id = w.id, winning_agent_id = w.agent_id,
    winning_agent_priority = w.live_priority, your_priority = prio,
    audit_event_id = aid, winner_status = w.status,
  }
  if q.idem_ttl > 0 then
    tx_write_json(tx, { 'SET', q.idem_key, false, 'EX', q.idem_ttl }, 3, c, function(v)
      return idem_encode(q.req_hash, 'conflict', v)
    end)
  end
  gate_lost(tx, g, c)
  fault('lost')
  local reply = {}
  for k, v in pairs(c) do reply[k] = v end
  reply.r = 'conflict'
  return reply
end

-- Step 6 (won): end what the write replaces; returns the displacement report.
local function claim_end_occupants(tx, q, prio, j)
  local bid, now = q.booking_id, tx.now
  for _, o in ipairs(j.expire) do
    tx_end_booking(tx, o, 'EXPIRED', nil, 'hold.expired', nil)
  end
  for _, o in ipairs(j.absorb) do
    local st = (q.mode == 'commit') and 'PROMOTED' or 'REPLACED'
    tx_end_booking(tx, o, st, { ended_by = bid }, 'hold.' .. string.lower(st),
      { 'by_booking_id', bid })
  end
  local ids, report = {}, {}
  for _, o in ipairs(j.displace) do
    local in_window = now < o.arb_until_ms
    local st, kind = 'EVICTED', 'booking.evicted'
    if o.status == 'HOLD' then st, kind = 'INVALIDATED', 'hold.invalidated' end
    tx_end_booking(tx, o, st, {
      ended_by = bid, ended_by_agent_id = q.agent_id, ended_by_priority = prio,
      lost_in_window = in_window,
    }, kind, {
      'by_booking_id', bid, 'by_agent_id', q.agent_id, 'by_priority', ms(prio),
      'in_arbitration_window', in_window and '1' or '0',
    })
    if in_window then
      -- Wake every writer waiting on the displaced booking (its own, and losers that
      -- wait to name the final winner); they read the list without popping it.
      local wk = tx.P .. 'wake:' .. o.id
      tx_write(tx, { 'LPUSH', wk, bid })
      tx_write(tx, { 'PEXPIRE', wk, 60000 })
    end
    ids[#ids + 1] = o.id
    report[#report + 1] = {
      booking_id = o.id, agent_id = o.agent_id, priority = o.live_priority,
      status = st, in_arbitration_window = in_window,
    }
  end
  fault('ended')
  return ids, report
end

-- Step 7 (won): take every bucket and write the record, its audit entry, its event.
-- `digest` (of the fixed fields) and a hold's `expires` go into the creating entry, so
-- `audit verify` sees a title, metadata or expiry edited in the record afterwards.
local function claim_take(tx, q, g, prio, rec, displaced_ids, digest)
  local bid, now = q.booking_id, tx.now
  for _, d in ipairs(q.days) do
    local args = { 'HSET', d.key }
    for _, f in ipairs(day_fields(d)) do
      args[#args + 1] = f; args[#args + 1] = bid
    end
    tx_write(tx, args)
  end
  -- The top-ranked agent never waits: nobody can outrank it. (gate_open read the
  -- owner's arb_window_ms.)
  local window = tonumber(q.arb_window_ms or q.window_ms)
  -- A booking moved to a counter-offer's slot (counter_accept.lua) already won: settled.
  if q.settle_now then window = 0 end
  local best = best_priority(q)
  local is_top = (best == nil) or (prio <= best)
  rec.id = bid
  rec.agent_id = q.agent_id
  rec.priority = prio
  rec.mode = q.mode
  rec.created_ms = now
  rec.arb_until_ms = is_top and now or (now + window)
  if q.mode == 'commit' then
    rec.status = 'COMMITTED'
    rec.committed_ms = now
    rec.bump_until_ms = now + q.bump_ms
    rec.expires_ms = 0
  else
    rec.status = 'HOLD'
    rec.expires_ms = now + q.hold_ttl_ms
    rec.bump_until_ms = 0
  end
  local fields = {
    'type', (q.mode == 'commit') and 'booking.committed' or 'hold.created',
    'ts', now_text(tx), 'booking_id', bid, 'agent_id', q.agent_id,
    'priority', ms(prio), 'mode', q.mode,
    'cover', ms(rec.cover_first) .. '-' .. ms(rec.cover_last),
    'displaced', table.concat(displaced_ids, ','),
    'arb_until', rec.arb_until_ms == now and now_text(tx) or ms(rec.arb_until_ms),
  }
  if q.mode == 'hold' then
    fields[#fields + 1] = 'expires'; fields[#fields + 1] = ms(rec.expires_ms)
  end
  if type(digest) == 'string' then
    fields[#fields + 1] = 'digest'; fields[#fields + 1] = digest
  end
  rec.audit_event_id = tx_audit(tx, fields)
  local consent = gate_won(tx, g, rec)
  tx_save_booking(tx, rec, q.plain and plain_or_compact or nil)
  if rec.status == 'COMMITTED' then
    tx_emit(tx, 'booking.committed', rec.audit_event_id, rec, rec.arb_until_ms)
  end
  if q.idem_ttl > 0 then
    tx_write(tx, { 'SET', q.idem_key, idem_encode(q.req_hash, 'ok', bid), 'EX', q.idem_ttl })
  end
  fault('taken')
  return consent
end

-- Steps 4-5: judge the occupants and settle a lost claim. Returns the lost claim's final
-- answer (a pending one drops the plan: no writes), or nil, the judgement and `ending`
-- (id -> true, added to: every booking this write will end, for the daily cap).
local function claim_contest(tx, q, g, prio, rec, occupants, ending)
  local j = claim_judge(tx.P, q, prio, occupants, tx.now)
  fault('judged')
  -- connectors: an event of the owner's real calendar blocks every agent (_external.lua).
  local external = external_block(tx.P, occupants)
  if external then return tx_finish(tx, lose_to_external(tx, q, g, prio, rec, external)) end
  if #j.blockers > 0 then
    local w = claim_winner(j.blockers)
    local pending = claim_pending(q, w, tx.now)
    if pending then return cjson.encode(pending) end
    return tx_finish(tx, claim_lose(tx, q, g, prio, rec, w))
  end
  for _, group in ipairs({ j.expire, j.absorb, j.displace }) do
    for _, o in ipairs(group) do ending[o.id] = true end
  end
  return nil, j, ending
end

-- `decoded`: the static fields claim_plain (_claim_plain.lua) decoded already, if any.
local function claim(mode, decoded)
  local q = claim_args(mode)
  local P = prefix_of(q.owner_key)
  local now = now_ms()
  local tx = tx_new(P, now)

  local g = gate_open(tx, q)  -- an unknown owner is its first refusal
  if g.reply then return tx_finish(tx, g.reply) end
  fault('opened')

  local replay = claim_replay(q, now)
  if replay then return tx_finish(tx, replay) end

  local prio = writer_priority(q)
  if not prio then return tx_finish(tx, { r = 'error', error = 'agent_unknown' }) end
  prio = tonumber(prio)

  local rec, digest
  if decoded then
    rec, digest = decoded.rec, decoded.digest
  else
    rec = cjson.decode(q.static)
    digest = rec.digest
    rec.digest = nil
  end
  q.plain = mode == 'commit' and plain_static(rec)  -- written by _plain.lua
  if rec.start_ms < now then
    return tx_finish(tx, { r = 'error', error = 'in_the_past', now = now })
  end
  local refused = gate_rules(tx, g, q, rec)
  if refused then return tx_finish(tx, refused) end
  fault('checked')

  local lost, j, ending = claim_contest(tx, q, g, prio, rec, claim_occupants(q), {})
  if lost then return lost end
  local capped = gate_cap(tx, g, ending)
  if capped then return tx_finish(tx, capped) end

  local displaced_ids, report = claim_end_occupants(tx, q, prio, j)
  local consent = claim_take(tx, q, g, prio, rec, displaced_ids, digest)
  local win = q.plain and g.checks.plain_reply and #report == 0 and not consent
    and plain_win(rec, now)
  if win then return tx_finish(tx, win, true) end
  return tx_finish(tx, {
    r = 'ok', booking = rec, now = now, wait_ms = rec.arb_until_ms - now, displaced = report,
    consent = consent,
  })
end
