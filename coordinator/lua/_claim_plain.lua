-- _claim_plain.lua: the claim of a plain commit on free buckets, in one straight pass.
-- Included by commit.lua after _claim.lua; commit.lua tries it first.
--
-- Why: the commonest write of all is an agent's plain commit (_plain.lua: a start and
-- an end alone, one UTC day, packed from the template, which asks with
-- checks.plain_reply) on buckets nobody holds. claim() walks it through every step a
-- contested write needs (the request table, the gate's, the judgement of occupants,
-- the displacement report, the approval gate, the outbox), each building tables the
-- garbage collector then sweeps: ~27% of the script's instructions went to steps that
-- decide nothing for this write. This pass reads the same keys, decides the same way
-- and plans the same writes, in the same order, through the same helpers (the token
-- bucket, the audit chain, the record's text, tx_finish), and leaves everything else
-- to claim(): it returns nil, having written nothing, for any write that is not plain,
-- any bucket that is held, a calendar with webhooks or a two-way connector (their
-- events), and every refusal (claim() then refuses it, in its own order).
-- tests/engine/test_plain_claim.py runs both paths on the same calendar at the same
-- clock and compares every key they leave.
--
-- Returns the reply (as claim() would return it) or nil and what it decoded already
-- ({rec, digest}: the static fields, for claim() not to decode them again).

local function claim_plain()
  -- KEYS and ARGV as _claim.lua's header gives them: one day key, no daily-cap keys,
  -- no idempotency key, an agent's key.
  if #KEYS ~= 8 or ARGV[9] ~= '1' or ARGV[8] ~= '0' or ARGV[10] == '' then return nil end
  if FORCE_GENERAL and FORCE_GENERAL() then return nil end  -- tests only (_fault.lua)
  local c = decoded_checks(ARGV[11])
  if not c.plain_reply or c.violation or c.etag_rv or c.approve or c.consent or c.cap then
    return nil
  end
  local rec = cjson.decode(ARGV[4])
  local digest = rec.digest
  rec.digest = nil
  local pre = { rec = rec, digest = digest }
  if not plain_static(rec) then return nil, pre end

  -- The reads that send most writes claim()'s way come first: a held bucket (a race),
  -- an owner's webhooks or two-way connector.
  local owner_key, bookings_key, agents_key = KEYS[1], KEYS[2], KEYS[3]
  local agent_key, day_key = KEYS[6], KEYS[8]
  local agent_id, bid, key_hash = ARGV[1], ARGV[2], ARGV[10]
  local P = prefix_of(owner_key)
  local fields = {}
  for f = tonumber(ARGV[12]), tonumber(ARGV[13]) do fields[#fields + 1] = ms(f) end
  local held = redis.call('HMGET', day_key, unpack(fields))
  for i = 1, #fields do
    if held[i] then return nil, pre end
  end
  if redis.call('EXISTS', P .. 'cxpush', P .. 'hooks') ~= 0 then return nil, pre end

  -- gate_open's reads and checks, in its order (any refusal is claim()'s to give).
  local now = now_ms()
  local tx = tx_new(P, now)
  local o = redis.call('HMGET', owner_key, 'user_id', 'rules_version', 'arb_window_ms',
    unpack(OWNER_AUDIT))
  if not o[1] then return nil, pre end
  local a = agent_access(agent_key)
  if check_key(agent_key, key_hash, c.scope, a) then return nil, pre end
  owner_audit(tx, o, 4)
  if (tonumber(o[2]) or 1) ~= tonumber(c.rv) then return nil, pre end
  if tx_take_token(tx, agent_key, c.limits, a) then return nil, pre end
  -- claim_replay, writer_priority, the clock and lead time (gate_rules).
  if redis.call('HEXISTS', bookings_key, bid) == 1 then return nil, pre end
  local best = redis.call('ZRANGE', agents_key, 0, 0, 'WITHSCORES')
  local prio = best[1] == agent_id and best[2] or redis.call('ZSCORE', agents_key, agent_id)
  if not prio then return nil, pre end
  prio = tonumber(prio)
  if rec.start_ms < now then return nil, pre end
  local lead = tonumber(c.lead_ms) or 0
  if lead > 0 and rec.start_ms < now + lead then return nil, pre end

  -- claim_take, for a commit that displaces nothing.
  local take = { 'HSET', day_key }
  for _, f in ipairs(fields) do
    take[#take + 1] = f; take[#take + 1] = bid
  end
  tx_write(tx, take)
  local top = tonumber(best[2])
  rec.id, rec.agent_id, rec.priority, rec.mode = bid, agent_id, prio, 'commit'
  rec.created_ms = now
  rec.arb_until_ms = (top == nil or prio <= top) and now
    or (now + tonumber(o[3] or ARGV[7]))
  rec.status, rec.committed_ms = 'COMMITTED', now
  rec.bump_until_ms, rec.expires_ms = now + tonumber(ARGV[6]), 0
  local entry = {
    'type', 'booking.committed', 'ts', now_text(tx), 'booking_id', bid, 'agent_id', agent_id,
    'priority', ms(prio), 'mode', 'commit',
    'cover', ms(rec.cover_first) .. '-' .. ms(rec.cover_last), 'displaced', '',
    'arb_until', rec.arb_until_ms == now and now_text(tx) or ms(rec.arb_until_ms),
  }
  if type(digest) == 'string' then
    entry[#entry + 1] = 'digest'; entry[#entry + 1] = digest
  end
  local aid = tx_audit(tx, entry)
  rec.audit_event_id = aid
  -- The record is final here, so it is written now rather than when the plan is
  -- sealed, and with its entry's sequence number when the entry is the clock's first.
  local plain = plain_won(rec)
  local text = plain and plain_compact_text(rec, aid == now_text(tx) .. '-0' and 0 or nil)
  tx_write(tx, { 'HSET', bookings_key, bid, text or cjson.encode(compact_booking(rec)) })
  fault('plain')
  local win = plain and plain_win_array(rec, now)
  if win then return tx_finish(tx, win, true) end
  return tx_finish(tx, {
    r = 'ok', booking = rec, now = now, wait_ms = rec.arb_until_ms - now, displaced = {},
  })
end
