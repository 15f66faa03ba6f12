-- connector_apply.lua: apply one pull of a calendar connector to the bucket index.
-- @include _external.lua
--
-- Called only through coordinator/store/calls.py (connector_apply).
-- External events become busy blocks in the same day hashes the claim script reads
-- (see _external.lua for the layout). A block that lands on a live booking follows the
-- owner's policy: 'evict' ends the booking (EVICTED, or INVALIDATED for a hold; reason
-- external_event; its webhook and its pushed copy's removal are queued by the ending)
-- and takes the bucket; 'keep' leaves the booking in place, audits
-- booking.external_conflict, and the block takes the bucket back when the booking ends.
--
-- Compute, then write: every step below only reads and plans (see _lib.lua); tx_finish
-- applies the plan once everything is decided and encoded.
--
-- KEYS[1] P..'owner'  KEYS[2] P..'ext'  KEYS[3] P..'cx:<id>' (sync state hash)
-- KEYS[4] P..'cxhref:<id>' (remote href -> JSON {etag, blocks})
-- KEYS[5] (optional) the connector's sync lease, P..'cx:<id>:lease'
-- Built from the prefix (same slot): P..'day:'..N, P..'xday:'..N, P..'bookings',
--   P..'audit', P..'outbox', P..'cxoutbox', P..'connectors'.
-- ARGV[1] connector id   ARGV[2] policy 'evict' | 'keep'
-- ARGV[3] JSON plan {remove = [block field], add = [{k, u, s, e, f, l, t?}],
--   hrefs = {href = JSON text}, drop_hrefs = [href], state = {field = text}}
-- ARGV[4] (with KEYS[5]) the token the caller took the lease with: a pull that lost
--   its lease (it ran past the lease's expiry and another pull took it) or a removal
--   that lost it is refused whole, so an older listing never lands on a newer one.
-- Returns JSON {r='ok', now, evicted = [booking id], conflicts = [{booking_id, event_uid,
--   audit_event_id}]} | {r='error', error='connector_unknown'}
--   | {r='error', error='connector_busy'} (the lease is not the caller's)
local P = prefix_of(KEYS[1])
local ext_key, state_key, href_key = KEYS[2], KEYS[3], KEYS[4]
local cid, policy = ARGV[1], ARGV[2]
local plan = cjson.decode(ARGV[3])
local now = now_ms()
local tx = tx_new(P, now)
if redis.call('HEXISTS', P .. 'connectors', cid) == 0 then
  return tx_finish(tx, { r = 'error', error = 'connector_unknown' })
end
if KEYS[5] and redis.call('GET', KEYS[5]) ~= ARGV[4] then
  return tx_finish(tx, { r = 'error', error = 'connector_busy' })
end

-- Step 1: read every bucket the change touches (day index and external members).
local cells, order = {}, {}
local function cell(b)
  local c = cells[b]
  if c then return c end
  local day = math.floor(b / BUCKETS_PER_DAY)
  local field = ms(b % BUCKETS_PER_DAY)
  c = { dk = P .. 'day:' .. ms(day), xk = P .. 'xday:' .. ms(day), field = field, members = {} }
  c.main = redis.call('HGET', c.dk, field)
  local raw = redis.call('HGET', c.xk, field)
  if raw then for m in string.gmatch(raw, '%S+') do c.members[#c.members + 1] = m end end
  cells[b] = c
  order[#order + 1] = c
  return c
end
local function drop(c, k)
  for i, m in ipairs(c.members) do
    if m == k then table.remove(c.members, i); return end
  end
end
local function unplace(k)
  local raw = redis.call('HGET', ext_key, k)
  if not raw then return end
  local old = cjson.decode(raw)
  for b = old.f, old.l - 1 do drop(cell(b), k) end
end

local fresh, adds = {}, {}  -- block field -> block: new or moved in this pull / all sent
for _, k in ipairs(plan.remove or {}) do unplace(k) end
for _, x in ipairs(plan.add or {}) do
  adds[x.k] = x
  local raw = redis.call('HGET', ext_key, x.k)
  local old = raw and cjson.decode(raw)
  if not old or old.f ~= x.f or old.l ~= x.l then fresh[x.k] = x end
  unplace(x.k)
  for b = x.f, x.l - 1 do
    local c = cell(b)
    drop(c, x.k)
    c.members[#c.members + 1] = x.k
  end
end
fault('read')
local function block_of(k)
  if adds[k] then return adds[k] end
  local raw = redis.call('HGET', ext_key, k)
  return raw and cjson.decode(raw) or { u = '' }
end
-- The block that lands on a booking in this cell: one new in this pull if any.
local function hitter(c)
  for _, m in ipairs(c.members) do if fresh[m] then return fresh[m] end end
  return nil
end

-- Step 2: decide each bucket, and which bookings end or stand in conflict.
local bookings, evict, evict_by, conflicts, conflict_seen = {}, {}, {}, {}, {}
for _, c in ipairs(order) do
  c.final = c.members[1] and ('x:' .. c.members[1]) or nil
  if c.main and string.sub(c.main, 1, 2) ~= 'x:' then
    local o = bookings[c.main]
    if o == nil then
      o = load_booking(P, c.main) or false
      bookings[c.main] = o
    end
    if o and is_live(o, now) then
      if not c.final then
        c.final = c.main
      elseif policy == 'evict' then
        if not evict_by[o.id] then
          evict[#evict + 1] = o
          evict_by[o.id] = hitter(c) or block_of(c.members[1])
        end
      else
        c.final = c.main
        local x = hitter(c)
        if x and not conflict_seen[o.id .. ' ' .. x.k] then
          conflict_seen[o.id .. ' ' .. x.k] = true
          conflicts[#conflicts + 1] = { o = o, x = x }
        end
      end
    end
  end
end
fault('decided')

-- Step 3: plan the writes: blocks, external members, endings, then the day index.
for _, k in ipairs(plan.remove or {}) do tx_write(tx, { 'HDEL', ext_key, k }) end
for _, x in ipairs(plan.add or {}) do
  tx_write_json(tx, { 'HSET', ext_key, x.k, false }, 4,
    { c = cid, u = x.u, s = x.s, e = x.e, f = x.f, l = x.l, t = x.t })
end
for _, c in ipairs(order) do
  if #c.members > 0 then
    tx_write(tx, { 'HSET', c.xk, c.field, table.concat(c.members, ' ') })
  else
    tx_write(tx, { 'HDEL', c.xk, c.field })
  end
end
local evicted = {}
for _, o in ipairs(evict) do
  local x = evict_by[o.id]
  local status, kind = 'EVICTED', 'booking.evicted'
  if o.status == 'HOLD' then status, kind = 'INVALIDATED', 'hold.invalidated' end
  tx_end_booking(tx, o, status, {
    end_reason = 'external_event', ended_by_connector_id = cid, ended_by_event_uid = x.u,
  }, kind, { 'reason', 'external_event', 'connector_id', cid, 'event_uid', x.u })
  evicted[#evicted + 1] = o.id
end
for _, c in ipairs(order) do
  if c.final ~= c.main then
    if c.final then
      tx_write(tx, { 'HSET', c.dk, c.field, c.final })
    else
      tx_write(tx, { 'HDEL', c.dk, c.field })
    end
  end
end
local reported = {}
for _, cf in ipairs(conflicts) do
  local aid = tx_audit(tx, {
    'type', 'booking.external_conflict', 'ts', ms(now), 'booking_id', cf.o.id,
    'agent_id', cf.o.agent_id, 'connector_id', cid, 'event_uid', cf.x.u,
  })
  if has_hooks(P) then
    tx_outbox_add(tx, 'booking.external_conflict', aid, {
      booking_id = cf.o.id, agent_id = cf.o.agent_id, connector_id = cid, event_uid = cf.x.u,
      start_ms = cf.o.start_ms, end_ms = cf.o.end_ms,
    }, 0)
  end
  reported[#reported + 1] = { booking_id = cf.o.id, event_uid = cf.x.u, audit_event_id = aid }
end
for href, v in pairs(plan.hrefs or {}) do tx_write(tx, { 'HSET', href_key, href, v }) end
for _, href in ipairs(plan.drop_hrefs or {}) do tx_write(tx, { 'HDEL', href_key, href }) end
for f, v in pairs(plan.state or {}) do tx_write(tx, { 'HSET', state_key, f, v }) end
if #reported > 0 then
  tx_write(tx, { 'HINCRBY', state_key, 'conflicts', #reported })
  tx_write_json(tx, { 'HSET', state_key, 'last_conflict', false }, 4, reported[#reported])
end
fault('planned')
return tx_finish(tx, { r = 'ok', now = now, evicted = evicted, conflicts = reported })
