-- mail_deliver.lua: the dispatcher records what the smarthost said about one outbound
-- message (sent: it answered 250 to the message's data; failed: a permanent refusal or
-- too many attempts) AND acknowledges its outbox entry, in one step: a dispatcher that
-- dies after this never sends it again, and one that dies before it sends it again.
-- @include _mail.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'mail'  KEYS[3] P..'audit'  KEYS[4] P..'mailout'
-- ARGV[1] message id  ARGV[2] 'sent' | 'failed'  ARGV[3] outbox entry id
-- ARGV[4] consumer group  ARGV[5] the smarthost's reply (text)  ARGV[6] attempts
-- Returns JSON {r='ok', message?, already?}
-- Keys written: P..'mail', P..'audit', P..'owner', P..'mailout' (XACK, XDEL).
local owner_key, mail_key, audit_key, outbox_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local msg_id, outcome, entry_id, group = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local detail, attempts = ARGV[5], tonumber(ARGV[6])
local tx = tx_new(prefix_of(owner_key), now_ms())
fault('opened')
local raw = redis.call('HGET', mail_key, msg_id)
local rec = raw and cjson.decode(raw) or nil
local already = (not rec) or rec.status == 'sent' or rec.status == 'failed'
if not already then
  rec.status = outcome
  rec.attempts = attempts
  rec.smtp_reply = detail
  if outcome == 'sent' then rec.sent_ms = tx.now else rec.failed_ms = tx.now end
  tx_audit(tx, { 'type', 'mail.' .. outcome, 'ts', ms(tx.now), 'message_id', msg_id,
    'agent_id', rec.agent_id, 'booking_id', rec.booking_id or '', 'imid', rec.imid,
    'attempts', ms(attempts), 'reply', detail }, { rec.booking_id })
  tx_write_json(tx, { 'HSET', mail_key, msg_id, false }, 4, rec)
end
tx_write(tx, { 'XACK', outbox_key, group, entry_id })
tx_write(tx, { 'XDEL', outbox_key, entry_id })
return tx_finish(tx, { r = 'ok', message = rec, already = already })
