-- _mail.lua: the agent mailbox's records and indexes (included by mail_*.lua).
--
-- Data model (per calendar, prefix P; built by coordinator/store/keys.py):
--   P..'mail'                 hash   message id (msg_…) -> JSON record (inbound and outbound)
--   P..'mbox:'..agent         zset   the agent's message ids; score = its audit entry id as
--                                    ms * 1000 + seq, so newest is highest and ties are rare
--   P..'mboxbkg:'..agent..':'..booking  zset  the same, for one booking's messages
--   P..'mailthread'           hash   '<agent> <Message-ID header>' -> JSON {m, t, b, d}:
--                                    the message, its thread, its booking, in|out; replies
--                                    thread by it and an inbound retry is found by it
--   P..'mailatt'              hash   '<message id>:<index>' -> an inbound attachment's bytes
--                                    (only those within the receiver's size limits; the
--                                    record's attachments[index].stored says which)
--   P..'mailsupp'             hash   address (lower case) -> JSON {kind, at_ms, agent_id,
--                                    message_id, diagnostic}; never sent to
--   P..'mailcap:'..agent..':'..day  string  sends that UTC day (server clock), TTL 2 days
--   P..'mailout'              stream outbound message ids for the dispatcher (consumer
--                                    group 'mail'; coordinator/mail/dispatcher.py)
-- Every message and every suppression change writes an audit entry in the same step.

local MAIL_DAY_MS = 86400000

local function mail_score(audit_id)
  local m, s = split_stream_id(audit_id)
  return ms(m * 1000 + math.min(s, 999))
end

local function attachment_field(message_id, index)
  return message_id .. ':' .. index
end

local function thread_field(agent_id, imid)
  return agent_id .. ' ' .. imid
end

-- The thread a message with these headers belongs to in this agent's mailbox: the
-- first of In-Reply-To, then References newest first, that the agent has seen.
local function find_thread(threads_key, agent_id, in_reply_to, references)
  local cands = {}
  if in_reply_to and in_reply_to ~= '' then cands[#cands + 1] = in_reply_to end
  if type(references) == 'table' then
    for i = #references, 1, -1 do cands[#cands + 1] = references[i] end
  end
  for _, imid in ipairs(cands) do
    local raw = redis.call('HGET', threads_key, thread_field(agent_id, imid))
    if raw then return cjson.decode(raw) end
  end
  return nil
end

-- Store the record, index it (mailbox, booking, thread) and audit it; returns the
-- audit id. `fields` are the audit entry's fields after type and ts.
local function tx_store_mail(tx, mail_key, threads_key, rec, audit_type, fields)
  local all = { 'type', audit_type, 'ts', ms(tx.now) }
  for i = 1, #fields do all[#all + 1] = fields[i] end
  local aid = tx_audit(tx, all, { rec.booking_id })
  rec.audit_event_id = aid
  local score = mail_score(aid)
  tx_write_json(tx, { 'HSET', mail_key, rec.id, false }, 4, rec)
  tx_write(tx, { 'ZADD', tx.P .. 'mbox:' .. rec.agent_id, score, rec.id })
  if rec.booking_id and rec.booking_id ~= '' then
    tx_write(tx, { 'ZADD', tx.P .. 'mboxbkg:' .. rec.agent_id .. ':' .. rec.booking_id,
      score, rec.id })
  end
  tx_write_json(tx, { 'HSET', threads_key, thread_field(rec.agent_id, rec.imid), false }, 4, {
    m = rec.id, t = rec.thread_id, b = rec.booking_id or '',
    d = rec.direction == 'inbound' and 'in' or 'out' })
  return aid
end

-- Put `address` on the suppression list (hard bounce, complaint), audited; nothing if
-- it is already there with the same kind.
local function tx_suppress(tx, supp_key, address, kind, agent_id, message_id, diagnostic)
  local raw = redis.call('HGET', supp_key, address)
  if raw and cjson.decode(raw).kind == kind then return nil end
  local s = { kind = kind, at_ms = tx.now, agent_id = agent_id, message_id = message_id,
    diagnostic = diagnostic or '' }
  tx_write_json(tx, { 'HSET', supp_key, address, false }, 4, s)
  return tx_audit(tx, { 'type', 'mail.suppressed', 'ts', ms(tx.now), 'address', address,
    'kind', kind, 'agent_id', agent_id, 'message_id', message_id }, nil)
end
