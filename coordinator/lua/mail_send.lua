-- mail_send.lua: an agent queues one outbound message: policy, suppression list and
-- daily cap checked, message recorded, quota counted and outbox entry written in ONE
-- step, so concurrent sends can never pass the cap together.
-- @include _access.lua
-- @include _mail.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'mail'  KEYS[3] P..'agent:<agent_id>'
-- KEYS[4] P..'audit'  KEYS[5] P..'mailthread'  KEYS[6] P..'mailsupp'  KEYS[7] P..'mailout'
-- KEYS[8] P..'bookings'
-- ARGV[1] SHA-256 of the caller's API key (scope mailbox:write)  ARGV[2] JSON {rate, burst}
-- ARGV[3] agent_id  ARGV[4] new message id (msg_…)
-- ARGV[5] JSON {from, to, to_key (lower case), subject, body_text, reply_to, booking_id,
--   in_reply_to, references, imid (the Message-ID header)}
-- ARGV[6] JSON {cap, free_form}: the coordinator's defaults (the agent hash's mail_cap
--   and mail_free_form override them)
-- Returns JSON {r='ok', message, quota={cap, used_today, remaining}} |
--   {r='error', error='booking_required'|'booking_unknown'|'recipient_suppressed'|
--   'send_cap_reached'|access codes, ...}
-- Keys written: P..'agent:<agent_id>' (token), P..'mail', P..'mbox:<agent>',
--   P..'mboxbkg:<agent>:<b>', P..'mailthread', P..'mailcap:<agent>:<day>', P..'mailout',
--   P..'audit', P..'owner'.
local owner_key, mail_key, agent_key = KEYS[1], KEYS[2], KEYS[3]
local threads_key, supp_key, outbox_key, bookings_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local key_hash, limits_json, agent_id, msg_id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local req = cjson.decode(ARGV[5])
local defaults = cjson.decode(ARGV[6])
local tx = tx_new(prefix_of(owner_key), now_ms())
local now = tx.now
local refused = tx_authorize(tx, agent_key, key_hash, 'mailbox:write',
  cjson.decode(limits_json))
if refused then return tx_finish(tx, refused) end
if redis.call('EXISTS', owner_key) == 0 then
  return tx_finish(tx, { r = 'error', error = 'owner_unknown' })
end
fault('opened')

-- Thread: a reply joins the thread (and booking) of the message it answers.
local booking_id = req.booking_id or ''
local thread_id = 'thr_' .. string.sub(msg_id, 5)
local found = find_thread(threads_key, agent_id, req.in_reply_to, req.references)
if found then
  thread_id = found.t
  if booking_id == '' then booking_id = found.b or '' end
end
if booking_id ~= '' and redis.call('HEXISTS', bookings_key, booking_id) == 0 then
  return tx_finish(tx, { r = 'error', error = 'booking_unknown', booking_id = booking_id })
end

-- The owner's policy for this agent, then the suppression list, then the daily cap.
local o = redis.call('HMGET', agent_key, 'mail_cap', 'mail_free_form')
local cap = tonumber(o[1]) or tonumber(defaults.cap)
local free_form = defaults.free_form
if o[2] then free_form = o[2] == '1' end
if booking_id == '' and not free_form then
  return tx_finish(tx, { r = 'error', error = 'booking_required' })
end
local supp = redis.call('HGET', supp_key, req.to_key)
if supp then
  local s = cjson.decode(supp)
  return tx_finish(tx, { r = 'error', error = 'recipient_suppressed', address = req.to_key,
    kind = s.kind, at_ms = s.at_ms })
end
local day = math.floor(now / MAIL_DAY_MS)
local count_key = tx.P .. 'mailcap:' .. agent_id .. ':' .. ms(day)
local used = tonumber(redis.call('GET', count_key) or '0')
if used >= cap then
  return tx_finish(tx, { r = 'error', error = 'send_cap_reached', cap = cap,
    used_today = used, retry_after_ms = (day + 1) * MAIL_DAY_MS - now })
end

local rec = {
  id = msg_id, agent_id = agent_id, direction = 'outbound', status = 'queued',
  imid = req.imid, from = req.from, to = { req.to }, reply_to = req.reply_to or '',
  subject = req.subject, body_text = req.body_text, booking_id = booking_id,
  thread_id = thread_id, in_reply_to = req.in_reply_to or '',
  references = req.references or {}, created_ms = now, date_ms = now,
}
tx_store_mail(tx, mail_key, threads_key, rec, 'mail.queued', {
  'message_id', msg_id, 'agent_id', agent_id, 'to', req.to_key, 'booking_id', booking_id,
  'thread_id', thread_id, 'imid', req.imid })
tx_write(tx, { 'INCR', count_key })
tx_write(tx, { 'PEXPIRE', count_key, 2 * MAIL_DAY_MS })
tx_write(tx, { 'XADD', outbox_key, '*', 'message_id', msg_id })
return tx_finish(tx, { r = 'ok', message = rec,
  quota = { cap = cap, used_today = used + 1, remaining = math.max(0, cap - used - 1) } })
