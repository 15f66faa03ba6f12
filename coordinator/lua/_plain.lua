-- _plain.lua: a plain commit's record and reply, written without cjson. Included with
-- _claim.lua (commit.lua, hold.lua, counter_accept.lua); only a commit uses it.
--
-- Why: cjson writes every number with snprintf('%.14g'), about 2,600 instructions each
-- under callgrind, and a commit's record and reply held twenty of them. The commonest
-- write, an agent's commit of a start and an end alone that nothing stands in the way
-- of, has one shape of record, written here as one concatenation of ms() texts ('%d',
-- about half the cost, and small numbers' text kept), and its reply is the few values
-- the script decided, as an array (Redis writes a number in it as an integer, without
-- formatting it as a double).
--
-- Same values, by construction: each writer checks that every number is a whole one
-- that cjson would write exactly (under 10^14 in size, where '%.14g' keeps every
-- digit), and text is escaped by cjson or sent as a RESP string; anything else returns
-- nil and the caller takes the general path (cjson). tests/engine/test_plain_claim.py
-- compares the two paths' records and replies.

-- The fields a plain commit's static JSON (ARGV[4], see _claim.lua) holds, its digest
-- apart: coordinator/store/records.py plain_static_json writes them.
local PLAIN_STATIC = {
  start_ms = true, end_ms = true, cover_first = true, cover_last = true,
  buffer_before_min = true, buffer_after_min = true, title = true, invitee = true,
  metadata = true, conferencing = true,
}

-- A whole number cjson writes with every digit ('%.14g' of one under 10^14).
local function whole(n)
  return type(n) == 'number' and n % 1 == 0 and n > -1e14 and n < 1e14
end

-- Is the decoded static record (its digest taken out) a plain commit's: no buffers,
-- title, invitee, metadata or link, and no other field (compact_booking would keep it)?
-- (Decoded by cjson, not matched as text: a Lua pattern over its ~250 bytes cost four
-- times the decoding.)
local function plain_static(rec)
  if rec.buffer_before_min ~= 0 or rec.buffer_after_min ~= 0 or rec.title ~= ''
      or rec.invitee ~= false or rec.metadata ~= false or rec.conferencing ~= false then
    return false
  end
  for k in pairs(rec) do
    if not PLAIN_STATIC[k] then return false end
  end
  return true
end

-- The won record of a plain commit (plain_static's fields, then what claim_take set),
-- nothing else set on it: true when the writers below may write it.
local function plain_won(r)
  if not (r.status == 'COMMITTED' and r.mode == 'commit' and not r.consent_id
      and not r.approval_id and r.expires_ms == 0 and r.committed_ms == r.created_ms
      and whole(r.priority) and whole(r.start_ms) and whole(r.end_ms)
      and whole(r.created_ms) and whole(r.arb_until_ms) and whole(r.bump_until_ms)
      and type(r.agent_id) == 'string' and type(r.audit_event_id) == 'string') then
    return false
  end
  local f, l = derived_cover(r.start_ms, r.end_ms, 0, 0)  -- what the caller sent
  return f == r.cover_first and l == r.cover_last
end

-- Each agent id's JSON text, kept (cjson's escaping of it was ~3,000 instructions of
-- every compact record), up to 1,024 ids.
local QUOTED = { n = 0, seen = {} }
local function quoted(id)
  return kept(QUOTED, id, cjson.encode, 1024)
end

-- compact_booking(r) as JSON text (see _lib.lua's records section), or nil, for a record
-- plain_won passed. `seq`: the audit entry's sequence number when its milliseconds are
-- r.created_ms, if the caller knows it (nil: read from the id).
local function plain_compact_text(r, seq)
  local c = r.created_ms
  local i = seq or rel_id(r.audit_event_id, c)
  -- (compact_booking leaves out a zero bump_until_ms: never a commit's, made at now > 0)
  if not whole(i) or r.bump_until_ms == 0 then return nil end
  local u = ''
  if r.arb_until_ms ~= c then u = ',"u":' .. ms(r.arb_until_ms - c) end
  -- One concatenation of ms() texts: string.format's '%d' costs a sprintf each, and
  -- ms() keeps the small numbers' text (priority, sequence number).
  return '{"a":' .. quoted(r.agent_id) .. ',"p":' .. ms(r.priority) .. ',"s":'
    .. ms(r.start_ms) .. ',"d":' .. ms(r.end_ms - r.start_ms) .. ',"c":' .. ms(c)
    .. ',"b":' .. ms(r.bump_until_ms - c) .. ',"i":' .. ms(i) .. u .. '}'
end

-- compact_booking(r) as JSON text, or nil.
local function plain_compact(r)
  if not plain_won(r) then return nil end
  return plain_compact_text(r)
end

-- What the script decided for a plain commit that won outright (nothing displaced, no
-- consent), when the caller asked for it (checks.plain_reply): the array
-- {'plain', now, priority, arb_until_ms, bump_until_ms, audit_event_id}, or nil, for a
-- record plain_won passed. Redis sends the numbers as RESP integers and the caller
-- knows the rest of the record (it sent it): coordinator/store/calls.py decode_reply
-- and coordinator/plain_wins.py rebuild the reply cjson would have written from it, and
-- the server answers from it without that (server/responses.py plain_won_json).
local function plain_win_array(r, now)
  if r.created_ms ~= now then return nil end  -- made now, as it is
  return { 'plain', now, r.priority, r.arb_until_ms, r.bump_until_ms, r.audit_event_id }
end

-- plain_win_array for any won record (claim_plain checks plain_won once for both).
local function plain_win(r, now)
  if not plain_won(r) then return nil end
  return plain_win_array(r, now)
end

-- tx_save_booking's shape for a plain commit: the text above, or compact_booking's form.
local function plain_or_compact(r)
  return plain_compact(r) or compact_booking(r)
end
