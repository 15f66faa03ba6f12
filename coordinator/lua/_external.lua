-- _external.lua: connectors' external busy blocks, as the claim path sees them.
--
-- An event pulled from the owner's real calendar (coordinator/connectors) sits in the
-- same bucket index as bookings: P..'day:'..N field -> 'x:<connector_id>:<block>'.
-- P..'ext' maps '<connector_id>:<block>' to the block's JSON {c=connector id,
-- u=event UID, s/e=start/end ms, f/l=cover buckets, t=summary if the owner shows it}.
-- P..'xday:'..N field -> space-separated block fields of every external event covering
-- that bucket (several events may overlap; the day hash names the first).
-- No agent displaces an external block, whatever its priority.

-- The first external block among a claim's occupants (nil when there is none).
local function external_block(P, occupants)
  for _, oid in ipairs(occupants) do
    if string.sub(oid, 1, 2) == 'x:' then
      local raw = redis.call('HGET', P .. 'ext', string.sub(oid, 3))
      if raw then return cjson.decode(raw) end
    end
  end
  return nil
end

-- The writer loses to an external event: audit it, remember it for an idempotent
-- retry, and answer a conflict naming the connector and the event's UID (plan only).
local function lose_to_external(tx, q, g, prio, rec, x)
  local aid = tx_audit(tx, {
    'type', 'booking.rejected', 'ts', ms(tx.now), 'booking_id', q.booking_id,
    'agent_id', q.agent_id, 'priority', ms(prio), 'mode', q.mode,
    'cover', ms(rec.cover_first) .. '-' .. ms(rec.cover_last),
    'reason', 'external_event', 'connector_id', x.c, 'event_uid', x.u,
  })
  local c = {
    reason = 'external_event', connector_id = x.c, event_uid = x.u, summary = x.t,
    event_start_ms = x.s, event_end_ms = x.e, your_priority = prio, audit_event_id = aid,
  }
  if q.idem_ttl > 0 then
    tx_write_json(tx, { 'SET', q.idem_key, false, 'EX', q.idem_ttl }, 3, c, function(v)
      return idem_encode(q.req_hash, 'conflict', v)
    end)
  end
  -- An approved parked write that lost names the external event as what stands there.
  gate_lost(tx, g, { winning_booking_id = 'x:' .. x.c .. ':' .. x.u })
  local reply = {}
  for k, v in pairs(c) do reply[k] = v end
  reply.r = 'conflict'
  return reply
end
