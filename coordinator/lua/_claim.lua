-- _claim.lua: the check-and-set shared by hold.lua and commit.lua.
--
-- KEYS[1]  P..'owner'     KEYS[2] P..'bookings'   KEYS[3] P..'agents'
-- KEYS[4]  P..'audit'     KEYS[5] P..'idem:<agent>:<key>' (unused when ARGV[8] == '0')
-- KEYS[6]  P..'agent:<agent_id>' (its key hash and status are checked here, so a
--          rotated or revoked key stops at once, with no extra round trip)
-- KEYS[7..6+n]            P..'day:<N>' for each UTC day the booking's cover touches
-- ARGV[1]  agent_id                 ARGV[2] new booking id
-- ARGV[3]  request hash (idempotency payload check)
-- ARGV[4]  JSON of the static booking fields (start_ms, end_ms, cover_first,
--          cover_last [exclusive bucket index], title, invitee, metadata, buffers)
-- ARGV[5]  hold TTL (ms)            ARGV[6] bump window (ms) for a commit
-- ARGV[7]  coordinator-wide arbitration window (ms); the owner hash may override
-- ARGV[8]  idempotency TTL (s), '0' = no idempotency key
-- ARGV[9]  n = number of day keys   ARGV[10] SHA-256 of the caller's API key
-- ARGV[11+2i], ARGV[12+2i] = first and last (inclusive) bucket field of day i
-- KEYS[7+n..] and ARGV[11+2n]: the owner's rules, scope and rate limit; see _gate.lua.
-- Returns a JSON string: {r='ok', booking, now, wait_ms, displaced, consent?} |
--   {r='conflict', ...winner fields} | {r='replay', stored} | {r='error', error} |
--   {r='rules_changed', rules_version, timezone, rules}
--
-- Order of refusals: unknown owner, bad key (401), missing scope (403), rules changed
-- since the caller's verdict (retry), rate limit (429), idempotent replay, stale etag
-- (410), rule violation (422), lost slot (409), daily cap (422).
--
-- Rules, in the order they are checked for each booking found in a wanted bucket:
--   expired hold                                  -> free (expired, audited)
--   the writer's own hold                         -> absorbed (promoted/replaced)
--   inside its arbitration window, writer better  -> displaced (it is never told it won)
--   live hold, writer commits at same-or-better   -> displaced (hold.invalidated)
--   commit, writer commits strictly better, inside the victim's bump window -> evicted
--   anything else                                 -> the writer loses, nothing changes

local function claim(mode)
  local P = prefix_of(KEYS[1])
  local agent_id, bid, req_hash = ARGV[1], ARGV[2], ARGV[3]
  local now = now_ms()

  if redis.call('EXISTS', KEYS[1]) == 0 then
    return cjson.encode({ r = 'error', error = 'owner_unknown' })
  end

  local gate = gate_open(now, tonumber(ARGV[9]))
  if gate.reply then return cjson.encode(gate.reply) end

  -- A retried call (the reply was lost, the client resent it) finds its own booking.
  if redis.call('HEXISTS', KEYS[2], bid) == 1 then
    return cjson.encode({ r = 'replay', stored = { r = 'ok', id = bid }, now = now })
  end

  local idem_ttl = tonumber(ARGV[8])
  if idem_ttl > 0 then
    local stored = redis.call('GET', KEYS[5])
    if stored then
      local s = cjson.decode(stored)
      if s.h ~= req_hash then
        return cjson.encode({ r = 'error', error = 'idempotency_mismatch' })
      end
      return cjson.encode({ r = 'replay', stored = s, now = now })
    end
  end

  local prio = redis.call('ZSCORE', KEYS[3], agent_id)
  if not prio then
    return cjson.encode({ r = 'error', error = 'agent_unknown' })
  end
  prio = tonumber(prio)

  local rec = cjson.decode(ARGV[4])
  local refused = gate_rules(gate, P, rec, now)
  if refused then return cjson.encode(refused) end

  -- Gather the distinct bookings that sit in any wanted bucket.
  local n_days = tonumber(ARGV[9])
  local seen, occupants = {}, {}
  for i = 0, n_days - 1 do
    local first, last = tonumber(ARGV[11 + 2 * i]), tonumber(ARGV[12 + 2 * i])
    local fields = {}
    for f = first, last do fields[#fields + 1] = ms(f) end
    local vals = redis.call('HMGET', KEYS[7 + i], unpack(fields))
    for _, v in ipairs(vals) do
      if v and not seen[v] then
        seen[v] = true
        occupants[#occupants + 1] = v
      end
    end
  end

  local expire, absorb, displace, blockers = {}, {}, {}, {}
  for _, oid in ipairs(occupants) do
    local o = load_booking(P, oid)
    if o and is_live(o, now) then
      local op = live_priority(P, o.agent_id, o.priority)
      o.live_priority = op
      if o.agent_id == agent_id and o.status == 'HOLD' then
        absorb[#absorb + 1] = o
      elseif now < o.arb_until_ms and prio < op then
        displace[#displace + 1] = o
      elseif o.status == 'HOLD' and mode == 'commit' and prio <= op then
        displace[#displace + 1] = o
      elseif o.status == 'COMMITTED' and mode == 'commit' and prio < op
          and now < o.bump_until_ms then
        displace[#displace + 1] = o
      else
        local reason = 'outranked'
        if o.status == 'COMMITTED' and mode == 'commit' and prio < op then
          reason = 'frozen'
        end
        o.reason = reason
        blockers[#blockers + 1] = o
      end
    elseif o and o.status == 'HOLD' then
      expire[#expire + 1] = o
    end
  end

  if #blockers > 0 then
    -- Report the strongest blocker: best priority, then the earliest writer.
    -- Arrival order is the booking's audit stream id: it strictly increases per
    -- calendar, so two writers in the same millisecond are still ordered.
    local w = blockers[1]
    for _, b in ipairs(blockers) do
      if b.live_priority < w.live_priority
          or (b.live_priority == w.live_priority and stream_id_before(b.audit_event_id,
            w.audit_event_id)) then
        w = b
      end
    end
    local aid = audit(P, {
      'type', 'booking.rejected', 'ts', ms(now), 'booking_id', bid, 'agent_id', agent_id,
      'priority', ms(prio), 'mode', mode,
      'cover', ms(rec.cover_first) .. '-' .. ms(rec.cover_last),
      'reason', w.reason, 'winner_booking_id', w.id, 'winner_agent_id', w.agent_id,
      'winner_priority', ms(w.live_priority),
    }, { w.id })
    local c = {
      reason = w.reason, winning_booking_id = w.id, winning_agent_id = w.agent_id,
      winning_agent_priority = w.live_priority, your_priority = prio,
      audit_event_id = aid, winner_status = w.status,
    }
    if idem_ttl > 0 then
      redis.call('SET', KEYS[5], cjson.encode({ h = req_hash, r = 'conflict', c = c }),
        'EX', idem_ttl)
    end
    gate_lost(gate, P, c, now)
    c.r = 'conflict'
    return cjson.encode(c)
  end

  local ending = {}
  for _, group in ipairs({ expire, absorb, displace }) do
    for _, o in ipairs(group) do ending[o.id] = true end
  end
  local capped = gate_cap(gate, P, ending, now)
  if capped then return cjson.encode(capped) end

  -- The write wins: end what it replaces, then take every bucket.
  for _, o in ipairs(expire) do
    end_booking(P, o, 'EXPIRED', now, nil, 'hold.expired', nil)
  end
  local displaced_ids, report = {}, {}
  for _, o in ipairs(absorb) do
    local st = (mode == 'commit') and 'PROMOTED' or 'REPLACED'
    end_booking(P, o, st, now, { ended_by = bid }, 'hold.' .. string.lower(st),
      { 'by_booking_id', bid })
  end
  for _, o in ipairs(displace) do
    local in_window = now < o.arb_until_ms
    local st, kind = 'EVICTED', 'booking.evicted'
    if o.status == 'HOLD' then st, kind = 'INVALIDATED', 'hold.invalidated' end
    end_booking(P, o, st, now, {
      ended_by = bid, ended_by_agent_id = agent_id, ended_by_priority = prio,
      lost_in_window = in_window,
    }, kind, {
      'by_booking_id', bid, 'by_agent_id', agent_id, 'by_priority', ms(prio),
      'in_arbitration_window', in_window and '1' or '0',
    })
    if in_window then
      local wk = P .. 'wake:' .. o.id
      redis.call('LPUSH', wk, bid)
      redis.call('PEXPIRE', wk, 60000)
    end
    displaced_ids[#displaced_ids + 1] = o.id
    report[#report + 1] = {
      booking_id = o.id, agent_id = o.agent_id, priority = o.live_priority,
      status = st, in_arbitration_window = in_window,
    }
  end

  for i = 0, n_days - 1 do
    local first, last = tonumber(ARGV[11 + 2 * i]), tonumber(ARGV[12 + 2 * i])
    local args = { 'HSET', KEYS[7 + i] }
    for f = first, last do
      args[#args + 1] = ms(f); args[#args + 1] = bid
    end
    redis.call(unpack(args))
  end

  -- The top-ranked agent never waits: nobody can outrank it.
  local window = tonumber(redis.call('HGET', KEYS[1], 'arb_window_ms') or ARGV[7])
  local best = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  local is_top = (best[2] == nil) or (prio <= tonumber(best[2]))
  rec.id = bid
  rec.agent_id = agent_id
  rec.priority = prio
  rec.mode = mode
  rec.created_ms = now
  rec.arb_until_ms = is_top and now or (now + window)
  if mode == 'commit' then
    rec.status = 'COMMITTED'
    rec.committed_ms = now
    rec.bump_until_ms = now + tonumber(ARGV[6])
    rec.expires_ms = 0
  else
    rec.status = 'HOLD'
    rec.expires_ms = now + tonumber(ARGV[5])
    rec.bump_until_ms = 0
  end
  local type_ = (mode == 'commit') and 'booking.committed' or 'hold.created'
  local ids = { bid }
  for _, d in ipairs(displaced_ids) do ids[#ids + 1] = d end
  rec.audit_event_id = audit(P, {
    'type', type_, 'ts', ms(now), 'booking_id', bid, 'agent_id', agent_id,
    'priority', ms(prio), 'mode', mode,
    'cover', ms(rec.cover_first) .. '-' .. ms(rec.cover_last),
    'displaced', table.concat(displaced_ids, ','),
    'arb_until', ms(rec.arb_until_ms),
  }, ids)
  local consent = gate_won(gate, P, rec, now)
  save_booking(P, rec)
  if rec.status == 'COMMITTED' then
    emit(P, 'booking.committed', rec.audit_event_id, rec, rec.arb_until_ms)
  end
  if idem_ttl > 0 then
    redis.call('SET', KEYS[5], cjson.encode({ h = req_hash, r = 'ok', id = bid }), 'EX', idem_ttl)
  end
  return cjson.encode({
    r = 'ok', booking = rec, now = now, wait_ms = rec.arb_until_ms - now, displaced = report,
    consent = consent,
  })
end
