-- mail_receive.lua: one inbound message lands in one agent's mailbox (the receiver's
-- call, no key): threaded by In-Reply-To / References, then by the plus-address's
-- booking; a bounce or complaint it carries puts its recipients on the suppression list.
-- @include _mail.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'mail'  KEYS[3] P..'agent:<agent_id>'  KEYS[4] P..'audit'
-- KEYS[5] P..'mailthread'  KEYS[6] P..'mailsupp'  KEYS[7] P..'bookings'  KEYS[8] P..'mailatt'
-- ARGV[1] agent_id  ARGV[2] new message id (msg_…)
-- ARGV[3] JSON record fields as parsed: {imid, from (bare address), from_header, to, reply_to, subject, body_text,
--   date_ms, in_reply_to, references, verdicts, attachments, size, plus_booking, bounce}
-- ARGV[4] JSON [{address (lower case), kind: 'hard_bounce'|'complaint', diagnostic}]
-- ARGV[5..] the bytes of each attachment marked stored=true in ARGV[3].attachments, in
--   order (the caller applied the size limits); one without its bytes is kept stored=false.
-- Returns JSON {r='ok', message, duplicate?, suppressed=[addresses]} |
--   {r='error', error='agent_unknown'|'owner_unknown'}
-- The same Message-ID arriving again for the same agent (an MTA's retry) returns the
-- stored message and writes nothing.
-- Keys written: P..'mail', P..'mbox:<agent>', P..'mboxbkg:<agent>:<b>', P..'mailthread',
--   P..'mailsupp', P..'mailatt', P..'audit', P..'owner'.
local owner_key, mail_key, agent_key, audit_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local threads_key, supp_key, bookings_key, att_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local agent_id, msg_id = ARGV[1], ARGV[2]
local m = cjson.decode(ARGV[3])
local suppress = cjson.decode(ARGV[4])
local tx = tx_new(prefix_of(owner_key), now_ms())
if redis.call('EXISTS', owner_key) == 0 then
  return tx_finish(tx, { r = 'error', error = 'owner_unknown' })
end
if redis.call('HGET', agent_key, 'status') ~= 'active' then
  return tx_finish(tx, { r = 'error', error = 'agent_unknown' })
end
fault('opened')

local seen = redis.call('HGET', threads_key, thread_field(agent_id, m.imid))
if seen then
  local s = cjson.decode(seen)
  if s.d == 'in' then
    local raw = redis.call('HGET', mail_key, s.m)
    if raw then
      return tx_finish(tx, { r = 'ok', message = cjson.decode(raw), duplicate = true,
        suppressed = {} })
    end
  end
end

local thread_id = 'thr_' .. string.sub(msg_id, 5)
local booking_id = ''
local found = find_thread(threads_key, agent_id, m.in_reply_to, m.references)
if found then
  thread_id, booking_id = found.t, found.b or ''
end
if booking_id == '' and m.plus_booking and m.plus_booking ~= ''
    and redis.call('HEXISTS', bookings_key, m.plus_booking) == 1 then
  booking_id = m.plus_booking
end

local rec = {
  id = msg_id, agent_id = agent_id, direction = 'inbound', status = 'received',
  imid = m.imid, from = m.from, from_header = m.from_header, to = m.to,
  reply_to = m.reply_to or '',
  subject = m.subject, body_text = m.body_text, booking_id = booking_id,
  thread_id = thread_id, in_reply_to = m.in_reply_to or '', references = m.references,
  created_ms = tx.now, date_ms = m.date_ms or tx.now, verdicts = m.verdicts,
  attachments = m.attachments, size = m.size, bounce = m.bounce,
}
local attachments = type(m.attachments) == 'table' and m.attachments or {}
local next_content = 5
for i, a in ipairs(attachments) do
  local content = a.stored and ARGV[next_content] or nil
  if content then
    next_content = next_content + 1
    tx_write(tx, { 'HSET', att_key, attachment_field(msg_id, i - 1), content })
  end
  a.stored = content ~= nil
end
rec.attachments = attachments
tx_store_mail(tx, mail_key, threads_key, rec, 'mail.received', {
  'message_id', msg_id, 'agent_id', agent_id, 'from', m.from or '',
  'booking_id', booking_id, 'thread_id', thread_id, 'imid', m.imid })
local suppressed = {}
for _, s in ipairs(suppress) do
  if tx_suppress(tx, supp_key, s.address, s.kind, agent_id, msg_id, s.diagnostic) then
    suppressed[#suppressed + 1] = s.address
  end
end
return tx_finish(tx, { r = 'ok', message = rec, suppressed = suppressed })
