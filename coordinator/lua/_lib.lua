-- _lib.lua: helpers prepended to every transition script at load time.
--
-- Lua in Redis has no `require`, so coordinator/store/scripts.py concatenates
-- this file in front of each script. Nothing here runs on its own.
--
-- COMPUTE BEFORE WRITE. Redis does not roll back a script that raises after its first
-- write: whatever it wrote stays. So a transition runs in two phases. Phase 1 reads,
-- decides and plans: every write goes into a plan (`tx`, see tx_new) instead of to
-- Redis, audit entries get their hash and stream id here, and records, outbox events
-- and idempotency records are JSON-encoded when the plan is sealed. Phase 2,
-- tx_finish(tx, reply), seals the plan (every cjson.encode, every concatenation done)
-- and only then issues the planned commands, none of which can fail on its input. So
-- any error a script can raise is raised before its first write, and a failing script
-- leaves the store byte-for-byte unchanged. fault(<name>) marks the named steps of
-- phase 1; tests compile in _fault.lua to raise at each and check exactly that.
-- Every script follows it: start with `local tx = tx_new(P, now_ms())`, pass tx to
-- every helper that writes (tx_audit, tx_save_booking, tx_end_booking, ...), and answer
-- with `return tx_finish(tx, reply)`. Nothing outside tx_finish calls a writing command.
--
-- Key naming. Every key of one calendar shares the prefix "<ns>:{<user_id>}:"
-- so the hash tag puts them all in ONE Redis Cluster slot. Scripts receive
-- the owner key as KEYS[1] and derive the prefix from it; keys whose names are
-- only known inside the script (a victim's bucket days, its wake-up list,
-- its audit index) are built from that prefix and therefore share the slot.
--
-- Data model (per calendar, prefix P):
--   P..'owner'           hash   user_id, timezone, created_ms, arb_window_ms?,
--                               audit_head (hash of the last entry), audit_last (its
--                               stream id: the next entry's id is chosen after it),
--                               audit_n (its position from genesis), checkpoint_every?
--                               and checkpoint_from? (signed checkpoints in the write
--                               path, see coordinator/audit/signer.py)
--   P..'cpdue'           stream checkpoint requests {entry_id, position, hash}: every
--                               checkpoint_every-th entry adds one; the signer signs
--                               and deletes them
--   P..'agents'          zset   agent_id -> priority (1 = best); live ranking
--   P..'agent:'..id      hash   agent record (name, scopes, status, key_hash, ...)
--   P..'bookings'        hash   booking_id -> JSON booking record (history kept)
--   P..'day:'..N         hash   5-minute bucket index within UTC day N -> booking_id
--   P..'audit'           stream hash-chained audit entries (explicit ids, see audit)
--   P..'bkgaudit:'..id   list   audit entry ids about a booking written outside its
--                               own span (mail); booking scripts no longer write it
--                               (before the compact records they did), still read
--   P..'wake:'..id       list   pushed when a booking still inside its arbitration
--                               window is displaced, to wake every writer waiting on
--                               it (its own, and losers waiting for the final winner)
--   P..'idem:'..agent..':'..key  string  TTL 24 h: a won write is the first 24 hex
--                               digits of the request hash then the booking id; a lost
--                               one JSON {h=those digits, r='conflict', c=...}
--                               (see idem_encode / idem_decode)
--   P..'outbox'          stream webhook events (see outbox_add)
--   P..'counters:'..id   hash   counter-offers on booking id (see _counters.lua)
--   P..'avgen'           string generation of what availability reads: tx_finish
--                               increments it with every unaudited write to a bucket
--                               map, a booking record or an external block (an audited
--                               one moves the owner's audit_n, the stamp's other half)
--   P..'avc:'..N         string availability's cache of UTC day N's live bookings,
--                               stamped with avgen and audit_n (read_availability.lua)
--   connectors (coordinator/connectors): P..'ext' hash of external busy blocks,
--   P..'xday:'..N external blocks per bucket, P..'connectors' hash of connector records,
--   P..'cx:'..id sync state, P..'cxhref:'..id remote objects, P..'cxpush' two-way
--   connectors, P..'cxoutbox' stream of booking changes to push (see _external.lua)

-- Nothing at the top level of this file or of an included one may call a function or
-- read a global: loaded as a Redis Function library (coordinator/store/scripts.py,
-- function_library), it runs once in an environment that has neither (no string, no
-- pairs); only the transition's body runs per call. _eval.lua holds what only EVAL
-- needs. tests/engine/test_lua_functions.py loads every library to check.

local BUCKETS_PER_DAY = 288

local function prefix_of(owner_key)
  -- "ns:{usr_x}:owner" -> "ns:{usr_x}:"
  return string.sub(owner_key, 1, #owner_key - 5)
end

-- TEST ONLY hooks, both false unless _fault.lua (compiled in only for tests) sets them:
-- CLOCK() gives now_ms() a fixed clock, FORCE_GENERAL() sends a plain commit down
-- claim() instead of claim_plain() (tests/engine/test_plain_claim.py runs both on the
-- same calendar at the same time and compares what they leave).
local CLOCK = false
local FORCE_GENERAL = false

local function now_ms()
  if CLOCK then
    local fixed = CLOCK()
    if fixed then return fixed end
  end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The text of each whole number 1..4095 ms() was asked for (bucket indexes, priorities),
-- kept for the next call: bounded, and a Function library's state outlives its calls.
local SMALL_TEXT = {}

-- A number as the integer text Redis and Python read ('%.0f'). An integer that a
-- double holds exactly prints the same with '%d', which skips the floating-point
-- formatting (several times cheaper: scripts format their clock, priorities and bucket
-- indexes over and over), and a small one is formatted once (string.format's '%d' is
-- still ~1,500 instructions); zero (-0 prints '-0'), fractions, NaN and inf keep '%.0f'.
local function ms(n)
  if type(n) == 'number' and n ~= 0 and n % 1 == 0 and n > -9007199254740992
      and n < 9007199254740992 then
    if n > 0 and n < 4096 then
      local t = SMALL_TEXT[n]
      if not t then
        t = string.format('%d', n)
        SMALL_TEXT[n] = t
      end
      return t
    end
    return string.format('%d', n)
  end
  return string.format('%.0f', n)
end

-- A bounded memo (`memo` = { n = 0, seen = {} }, a library local): make(key)'s value,
-- made once per key and kept for later calls, since a Function library's state
-- outlives its calls. Past `limit` keys it starts over. Only for values nobody writes
-- into: every caller that gets one shares it.
local function kept(memo, key, make, limit)
  local v = memo.seen[key]
  if v ~= nil then return v end
  v = make(key)
  if memo.n >= limit then
    memo.seen, memo.n = {}, 0
  end
  memo.seen[key], memo.n = v, memo.n + 1
  return v
end

-- A fault-injection point: a no-op unless _fault.lua (compiled in only for tests, see
-- coordinator/store/scripts.py) sets FAULTS.
local FAULTS = false
local function fault(step)
  if FAULTS then FAULTS(step) end
end

local function split_stream_id(id)
  local m, q = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(m), tonumber(q)
end

-- Is stream id a ("ms-seq") strictly before b? Compared as numbers, not text.
local function stream_id_before(a, b)
  local am, as = split_stream_id(a)
  local bm, bs = split_stream_id(b)
  if am ~= bm then return am < bm end
  return as < bs
end

-- ---- the write plan ---------------------------------------------------------------

-- A new plan for calendar P at server time `now`. Writes are queued, not issued.
local function tx_new(P, now)
  return { P = P, now = now, ops = {}, encode = {} }
end

-- ms(tx.now), formatted once per plan: a commit writes its clock three or four times
-- (its audit entry's id and ts, the token bucket, a top agent's arb_until).
local function now_text(tx)
  local t = tx.now_text
  if not t then
    t = ms(tx.now)
    tx.now_text = t
  end
  return t
end

-- Queue one write command (an array of strings and numbers).
local function tx_write(tx, cmd)
  tx.ops[#tx.ops + 1] = cmd
end

-- Queue a write whose cmd[slot] is `value` JSON-encoded when the plan is sealed, so a
-- record can still change after it was queued (its audit id is set later). With
-- `shape`, cmd[slot] is shape(value) instead, JSON-encoded unless it is already text.
local function tx_write_json(tx, cmd, slot, value, shape)
  tx.ops[#tx.ops + 1] = cmd
  tx.encode[#tx.encode + 1] = { cmd, slot, value, shape }
end

-- Does the plan write what an availability answer is made of: a bucket map
-- (P..'day:'..N), a booking record (P..'bookings') or an external block (P..'ext')?
local LIVE_KEYS = { [98] = 'bookings', [100] = 'day:', [101] = 'ext' }  -- by first byte
local function tx_touches_live(tx)
  local P = tx.P
  if not P then return false end
  local np = #P
  for _, cmd in ipairs(tx.ops) do
    local last = (cmd[1] == 'DEL' or cmd[1] == 'UNLINK') and #cmd or 2
    for i = 2, last do
      local key = cmd[i]
      -- The scan runs on every unaudited write: a key is looked at further only when
      -- the byte after the prefix is b, d or e (string.byte makes no new string).
      local name = LIVE_KEYS[string.byte(key, np + 1)]
      if name and string.sub(key, 1, np) == P then
        local rest = string.sub(key, np + 1, np + #name)
        if rest == name and (name == 'day:' or #key == np + #name) then return true end
      end
    end
  end
  return false
end

-- Seal and apply: encode everything (the last place an error can arise), then write.
-- Returns the reply, JSON-encoded (`as_is`: the reply as it is, an array Redis sends).
-- read_availability.lua's day cache is stamped with P..'avgen' and the owner's audit_n.
-- A plan with an audit entry moves audit_n; one without that writes what availability
-- is made of (a bucket, a record, an external block) bumps avgen here, where every
-- write passes, so no script can change those and leave the cache as it was.
local function tx_finish(tx, reply, as_is)
  for _, e in ipairs(tx.encode) do
    local v = e[3]
    if e[4] then v = e[4](v) end
    if type(v) ~= 'string' then v = cjson.encode(v) end
    e[1][e[2]] = v
  end
  -- An audited plan moves the owner's audit_n, the stamp's other half, already.
  if #tx.ops > 0 and not tx.audit_head and tx_touches_live(tx) then
    tx.ops[#tx.ops + 1] = { 'INCR', tx.P .. 'avgen' }
  end
  local out = reply
  if not as_is then out = cjson.encode(reply) end
  if #tx.ops > 0 then fault('sealed') end  -- the last moment before the first write
  for _, cmd in ipairs(tx.ops) do redis.call(unpack(cmd)) end
  return out
end

-- The stream id the calendar's next audit entry gets: the server clock, or just after
-- the last entry when the clock has not moved past it (so ids strictly increase and
-- the XADD cannot be refused). audit_last rides in the owner hash; a calendar written
-- before it existed asks the stream once.
local function next_audit_id(tx)
  local last = tx.audit_last
  if not last then
    last = redis.call('HGET', tx.P .. 'owner', 'audit_last')
    if not last then
      last = '0-0'
      if redis.call('EXISTS', tx.P .. 'audit') == 1 then
        local info = redis.call('XINFO', 'STREAM', tx.P .. 'audit')
        for i = 1, #info, 2 do
          if info[i] == 'last-generated-id' then last = info[i + 1] end
        end
      end
    end
  end
  local lm, ls = split_stream_id(last)
  local id
  if tx.now > lm then id = now_text(tx) .. '-0' else id = ms(lm) .. '-' .. ms(ls + 1) end
  tx.audit_last = id
  return id
end

-- ---- records ----------------------------------------------------------------------
--
-- The booking record's stored form is compact (memory per booking is the budget):
-- scripts work on the long table (the names Python and the replies use), load_booking
-- expands what HGET returns and tx_save_booking compacts at seal time.
-- coordinator/store/records.py mirrors both directions; keep the two in step.
--   a agent_id   p priority   m 'h' for a hold (absent: commit)   s start_ms
--   d end_ms - start_ms   c created_ms   st status, absent while it is the live one
--   (COMMITTED / HOLD)   u arb_until_ms - c (absent: 0)   b bump_until_ms - c (commits)
--   x expires_ms - c (holds)   i audit_event_id: its sequence number when its
--   milliseconds are c, else the whole id   n ended_ms - c   j end_audit_id: the sequence
--   number when its milliseconds are ended_ms, else the whole id   bb/ba buffers
--   (absent: 0)   t title (absent: '')   v invitee, md metadata, cf conferencing
--   (absent: false)   f/l cover_first/cover_last only when they are not the ones the
--   times and buffers give   eb ended_by  ea ended_by_agent_id  ep ended_by_priority
--   er end_reason  ec ended_by_connector_id  eu ended_by_event_uid  w lost_in_window
--   (only when true)  k consent_id  ap approval_id  ea2 ended_by_approval
--   cm committed_ms only when it is not c. Any other field is kept under its own name.
-- A record written before this format (long names, it has agent_id) is read as it is;
-- it is rewritten compact the next time a script saves it.

local BUCKET_MS = 300000
local RENAMED = {
  ended_by = 'eb', ended_by_agent_id = 'ea', ended_by_priority = 'ep', end_reason = 'er',
  ended_by_connector_id = 'ec', ended_by_event_uid = 'eu', consent_id = 'k',
  approval_id = 'ap', ended_by_approval = 'ea2',
}
-- Fields the compact form rebuilds (or that only live while a script runs).
local DERIVED = {
  id = true, agent_id = true, priority = true, mode = true, status = true, start_ms = true,
  end_ms = true, created_ms = true, arb_until_ms = true, bump_until_ms = true,
  expires_ms = true, audit_event_id = true, ended_ms = true, end_audit_id = true,
  buffer_before_min = true, buffer_after_min = true, title = true, invitee = true,
  metadata = true, conferencing = true, cover_first = true, cover_last = true,
  lost_in_window = true, committed_ms = true, live_priority = true, reason = true,
}

-- The buckets [start - before, end + after) touches, as buckets.cover() computes them.
local function derived_cover(start_ms, end_ms, before, after)
  return math.floor((start_ms - before * 60000) / BUCKET_MS),
    math.ceil((end_ms + after * 60000) / BUCKET_MS)
end

-- A stream id relative to a millisecond: its sequence number if it falls in it.
local function rel_id(id, at)
  local m, q = split_stream_id(id)
  if m == at then return q end
  return id
end

local function abs_id(v, at)
  if type(v) == 'number' then return ms(at) .. '-' .. ms(v) end
  return v
end

local function compact_booking(r)
  local o, c = {}, r.created_ms
  for k, v in pairs(r) do
    if not DERIVED[k] then o[RENAMED[k] or k] = v end
  end
  o.a, o.p, o.s, o.d, o.c = r.agent_id, r.priority, r.start_ms, r.end_ms - r.start_ms, c
  local hold = r.mode == 'hold'
  if hold then o.m = 'h' elseif r.mode ~= 'commit' then o.mode = r.mode end
  if r.status ~= (hold and 'HOLD' or 'COMMITTED') then o.st = r.status end
  local bb, ba = r.buffer_before_min or 0, r.buffer_after_min or 0
  if bb ~= 0 then o.bb = bb end
  if ba ~= 0 then o.ba = ba end
  local f, l = derived_cover(r.start_ms, r.end_ms, bb, ba)
  if f ~= r.cover_first or l ~= r.cover_last then o.f, o.l = r.cover_first, r.cover_last end
  if r.title and r.title ~= '' then o.t = r.title end
  if r.invitee then o.v = r.invitee end
  if r.metadata then o.md = r.metadata end
  if r.conferencing then o.cf = r.conferencing end
  if r.arb_until_ms and r.arb_until_ms ~= c then o.u = r.arb_until_ms - c end
  local bump, exp = r.bump_until_ms or 0, r.expires_ms or 0
  if hold then
    o.x = exp - c
    if bump ~= 0 then o.B = bump end
  else
    if bump ~= 0 then o.b = bump - c end
    if exp ~= 0 then o.X = exp end
    if r.committed_ms and r.committed_ms ~= c then o.cm = r.committed_ms end
  end
  if r.audit_event_id then o.i = rel_id(r.audit_event_id, c) end
  if r.ended_ms then o.n = r.ended_ms - c end
  if r.end_audit_id then o.j = rel_id(r.end_audit_id, r.ended_ms) end
  if r.lost_in_window then o.w = true end
  return o
end

-- RENAMED the other way (written out: a library's top level cannot call pairs).
local EXPANDED = {
  eb = 'ended_by', ea = 'ended_by_agent_id', ep = 'ended_by_priority', er = 'end_reason',
  ec = 'ended_by_connector_id', eu = 'ended_by_event_uid', k = 'consent_id',
  ap = 'approval_id', ea2 = 'ended_by_approval',
}
local SHORT = {
  a = true, p = true, s = true, d = true, c = true, m = true, st = true, bb = true,
  ba = true, f = true, l = true, t = true, v = true, md = true, cf = true, u = true,
  b = true, B = true, x = true, X = true, cm = true, i = true, n = true, j = true, w = true,
}

local function expand_booking(id, o)
  if o.agent_id then  -- written before the compact form
    o.id = o.id or id
    return o
  end
  local r, c = {}, o.c
  for k, v in pairs(o) do
    if not SHORT[k] then r[EXPANDED[k] or k] = v end
  end
  local hold = o.m == 'h'
  r.id, r.agent_id, r.priority, r.created_ms = id, o.a, o.p, c
  r.mode = o.mode or (hold and 'hold' or 'commit')
  r.status = o.st or (hold and 'HOLD' or 'COMMITTED')
  r.start_ms, r.end_ms = o.s, o.s + o.d
  r.buffer_before_min, r.buffer_after_min = o.bb or 0, o.ba or 0
  if o.f then
    r.cover_first, r.cover_last = o.f, o.l
  else
    r.cover_first, r.cover_last = derived_cover(r.start_ms, r.end_ms, r.buffer_before_min,
      r.buffer_after_min)
  end
  r.title = o.t or ''
  r.invitee, r.metadata, r.conferencing = o.v or false, o.md or false, o.cf or false
  r.arb_until_ms = c + (o.u or 0)
  if hold then
    r.expires_ms = c + (o.x or 0)
    r.bump_until_ms = o.B or 0
  else
    r.bump_until_ms = c + (o.b or 0)
    r.expires_ms = o.X or 0
    r.committed_ms = o.cm or c
  end
  if o.i then r.audit_event_id = abs_id(o.i, c) end
  if o.n then r.ended_ms = c + o.n end
  if o.j then r.end_audit_id = abs_id(o.j, r.ended_ms) end
  if o.w then r.lost_in_window = true end
  return r
end

local function load_booking(P, id)
  local raw = redis.call('HGET', P .. 'bookings', id)
  if not raw then return nil end
  return expand_booking(id, cjson.decode(raw))
end

-- Queued like tx_write_json, compacted when the plan is sealed (the record may still
-- change after it was queued: its audit id, its consent id). `shape` (default
-- compact_booking) writes the compact form: _plain.lua's writes a plain commit's as text.
local function tx_save_booking(tx, rec, shape)
  tx_write_json(tx, { 'HSET', tx.P .. 'bookings', rec.id, false }, 4, rec,
    shape or compact_booking)
end

-- ---- idempotency records ------------------------------------------------------------
-- The request hash is kept to 24 hex digits (96 bits: it only has to tell two requests
-- of one agent under one key apart), so a won write's record fits Redis's embedded
-- strings. A record written before (JSON with the whole hash) still reads.
local IDEM_HASH = 24

local function idem_encode(req_hash, r, payload)
  local h = string.sub(req_hash, 1, IDEM_HASH)
  if r == 'ok' then return h .. payload end
  return cjson.encode({ h = h, r = r, c = payload })
end

-- {h, r, id?|c?} from a stored record.
local function idem_decode(raw)
  if string.sub(raw, 1, 1) == '{' then
    local s = cjson.decode(raw)
    s.h = string.sub(s.h or '', 1, IDEM_HASH)
    return s
  end
  return { h = string.sub(raw, 1, IDEM_HASH), r = 'ok', id = string.sub(raw, IDEM_HASH + 1) }
end

local function idem_matches(s, req_hash)
  return s.h == string.sub(req_hash, 1, IDEM_HASH)
end

-- Live priority: the agent's current rank wins over the one stored on the record,
-- so a re-rank takes effect on the next call without touching bookings.
local function live_priority(P, agent_id, fallback)
  local s = redis.call('ZSCORE', P .. 'agents', agent_id)
  if s then return tonumber(s) end
  return fallback
end

-- Remove every bucket field that still points at this booking.
local function tx_clear_buckets(tx, rec)
  local b = rec.cover_first
  while b < rec.cover_last do
    local day = math.floor(b / BUCKETS_PER_DAY)
    local key = tx.P .. 'day:' .. ms(day)
    local field = ms(b % BUCKETS_PER_DAY)
    if redis.call('HGET', key, field) == rec.id then
      -- connectors: an external event kept under the booking (owner policy 'keep')
      -- takes the bucket back (see _external.lua for P..'xday:'..N).
      local under = redis.call('HGET', tx.P .. 'xday:' .. ms(day), field)
      if under then
        tx_write(tx, { 'HSET', key, field, 'x:' .. string.match(under, '^%S+') })
      else
        tx_write(tx, { 'HDEL', key, field })
      end
    end
    b = b + 1
  end
end

-- The owner hash's audit fields, in tx_audit's order, for a script that reads other
-- fields of the owner hash in the same HMGET: `o` is that reply and `at` the index of
-- 'audit_head' in it, the four others following. Nothing is written before the first
-- entry, so reading them early reads the same values.
local OWNER_AUDIT = {
  'audit_head', 'audit_last', 'audit_n', 'checkpoint_every', 'checkpoint_from',
}
local function owner_audit(tx, o, at)
  tx.owner_audit = { o[at], o[at + 1], o[at + 2], o[at + 3], o[at + 4] }
end

-- Append one audit entry, chaining the hash of the previous one; returns its id.
-- fields: flat array {k1, v1, k2, v2, ...} of strings. The hashed text is "<prev>\n"
-- followed by "k=v\n" for each field in order, then "prev=<prev>\n";
-- coordinator/audit/chain.py recomputes exactly this. Booking scripts keep no
-- per-booking index: an entry names the bookings it concerns in its fields, and a
-- booking's trail is read from the stream between the ids its record holds
-- (coordinator/audit/trail.py). `index_ids` (optional) are bookings an entry concerns
-- that may be written after the booking ended (mail about it): those entries are
-- listed in P..'bkgaudit:'..id, which the trail reads too.
local function tx_audit(tx, fields, index_ids)
  local P = tx.P
  local owner = P .. 'owner'
  if not tx.audit_head then
    -- One read for all: the chain's head, the id the next entry follows, the head's
    -- position from genesis and how often a checkpoint falls due (read already, with
    -- the owner's other fields, when a script set tx.owner_audit: see owner_audit).
    local o = tx.owner_audit or redis.call('HMGET', owner, 'audit_head', 'audit_last',
      'audit_n', 'checkpoint_every', 'checkpoint_from')
    tx.audit_head = o[1] or 'genesis'
    tx.audit_last = tx.audit_last or o[2] or nil
    tx.audit_n = tonumber(o[3])
    tx.checkpoint_every = tonumber(o[4]) or 0
    if not tx.audit_n then  -- a calendar written before audit_n: count once
      tx.audit_n = (tonumber(redis.call('HGET', P .. 'audit-archived', 'entries')) or 0)
        + redis.call('XLEN', P .. 'audit')
    end
    if tx.checkpoint_every > 0 and not o[5] then
      -- The first write since checkpoints were switched on: entries after this
      -- position fall due (audit verify does not ask older ones for a checkpoint).
      tx_write(tx, { 'HSET', owner, 'checkpoint_from', ms(tx.audit_n) })
    end
  end
  local prev = tx.audit_head
  local parts = { prev, '\n' }
  for i = 1, #fields, 2 do
    parts[#parts + 1] = fields[i] .. '=' .. fields[i + 1] .. '\n'
  end
  parts[#parts + 1] = 'prev=' .. prev .. '\n'
  local h = redis.sha1hex(table.concat(parts))
  local id = next_audit_id(tx)
  local args = { 'XADD', P .. 'audit', id, unpack(fields) }
  args[#args + 1] = 'prev'; args[#args + 1] = prev
  args[#args + 1] = 'hash'; args[#args + 1] = h
  tx_write(tx, args)
  tx.audit_n = tx.audit_n + 1
  tx_write(tx, { 'HSET', owner, 'audit_head', h, 'audit_last', id, 'audit_n', ms(tx.audit_n) })
  tx.audit_head = h
  if index_ids then
    for _, bid in ipairs(index_ids) do
      if bid and bid ~= '' then tx_write(tx, { 'RPUSH', P .. 'bkgaudit:' .. bid, id }) end
    end
  end
  if tx.checkpoint_every > 0 and tx.audit_n % tx.checkpoint_every == 0 then
    -- Every Nth entry asks for a signed checkpoint of itself, in the same atomic step;
    -- the coordinator's signer (coordinator/audit/signer.py) signs it outside Lua.
    tx_write(tx, { 'XADD', P .. 'cpdue', '*', 'entry_id', id, 'position', ms(tx.audit_n),
      'hash', h })
  end
  return id
end

-- Webhook outbox: persisted by the same script as the change, and only while the
-- owner has endpoints registered (P..'hooks'), so a calendar without webhooks pays
-- one EXISTS. The dispatcher (coordinator/webhooks) delivers and acknowledges.
-- ``not_before_ms`` holds a commit back until its arbitration window has closed.
local ENDED_EVENTS = {
  EVICTED = 'booking.evicted', INVALIDATED = 'hold.invalidated',
  CANCELLED = 'booking.cancelled', MOVED = 'booking.moved',
}

-- Does the owner have webhook endpoints? Callers ask before building an event, so a
-- calendar without webhooks pays one EXISTS and nothing else.
local function has_hooks(P)
  return redis.call('EXISTS', P .. 'hooks') == 1
end

-- Append one event to the calendar's outbox (the caller checked has_hooks). `data`
-- gets the event id (derived from the change's audit entry, so a receiver can dedupe)
-- and the owner; booking and proposal events both go through here.
local function tx_outbox_add(tx, event_type, audit_id, data, not_before_ms)
  local P = tx.P
  local user = string.match(P, '{(.-)}')
  data.id = 'evt_' .. user .. '_' .. audit_id
  data.user_id = user
  data.audit_event_id = audit_id
  tx_write_json(tx, { 'XADD', P .. 'outbox', '*', 'id', data.id, 'type', event_type,
    'not_before_ms', ms(not_before_ms), 'data', false }, 11, data)
end

-- connectors: a settled commit, or the end of one, is queued for the owner's
-- two-way calendars (P..'cxpush' lists them); the sync worker (coordinator/connectors/
-- push.py) delivers it after ``not_before_ms`` and re-reads the booking first, so a
-- write that lost inside its arbitration window never reaches the calendar.
local PUSHED_EVENTS = {
  ['booking.committed'] = true, ['booking.evicted'] = true, ['booking.cancelled'] = true,
  ['booking.moved'] = true,
}

local function tx_push_outbox(tx, event_type, rec, not_before_ms)
  if not PUSHED_EVENTS[event_type] or redis.call('EXISTS', tx.P .. 'cxpush') == 0 then
    return
  end
  tx_write(tx, { 'XADD', tx.P .. 'cxoutbox', '*', 'booking_id', rec.id, 'type', event_type,
    'not_before_ms', ms(not_before_ms) })
end

local function tx_emit(tx, event_type, audit_id, rec, not_before_ms)
  -- One EXISTS for both (the usual calendar has neither), then each as before.
  if redis.call('EXISTS', tx.P .. 'cxpush', tx.P .. 'hooks') == 0 then return end
  tx_push_outbox(tx, event_type, rec, not_before_ms)
  if not has_hooks(tx.P) then return end
  tx_outbox_add(tx, event_type, audit_id, {
    booking_id = rec.id, agent_id = rec.agent_id, priority = rec.priority,
    status = rec.status, mode = rec.mode, start_ms = rec.start_ms, end_ms = rec.end_ms,
    title = rec.title, ended_by_booking_id = rec.ended_by,
    ended_by_agent_id = rec.ended_by_agent_id, ended_by_priority = rec.ended_by_priority,
    reason = rec.end_reason, connector_id = rec.ended_by_connector_id,
    event_uid = rec.ended_by_event_uid,
  }, not_before_ms)
end

local function is_live(rec, now)
  if rec.status == 'COMMITTED' then return true end
  if rec.status == 'HOLD' then return rec.expires_ms > now end
  return false
end

-- End a booking that left the calendar (its agent's call, expiry, displacement): mark
-- it, free its buckets, audit it, announce it.
local function tx_end_booking(tx, rec, status, extra, audit_type, audit_fields)
  local now = tx.now
  rec.status = status
  rec.ended_ms = now
  if extra then for k, v in pairs(extra) do rec[k] = v end end
  tx_clear_buckets(tx, rec)
  local fields = {
    'type', audit_type, 'ts', ms(now), 'booking_id', rec.id, 'agent_id', rec.agent_id,
    'priority', ms(rec.priority), 'mode', rec.mode,
    'cover', ms(rec.cover_first) .. '-' .. ms(rec.cover_last),
  }
  if audit_fields then for i = 1, #audit_fields do fields[#fields + 1] = audit_fields[i] end end
  -- The entry names the booking that ended and (by_booking_id) the one that ended it,
  -- so both bookings' trails show the eviction.
  local aid = tx_audit(tx, fields)
  rec.end_audit_id = aid
  tx_save_booking(tx, rec)
  -- A booking displaced inside its arbitration window never won: nothing to announce.
  local event = ENDED_EVENTS[status]
  if event and not (extra and extra.lost_in_window) then
    tx_emit(tx, event, aid, rec, 0)
  end
  return aid
end
