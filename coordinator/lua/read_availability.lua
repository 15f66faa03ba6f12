-- read_availability.lua: everything an availability answer needs, in one round trip.
-- @include _access.lua
-- KEYS[1] P..'owner'  KEYS[2] P..'bookings'
-- KEYS[3] P..'agent:<agent_id>'  KEYS[4] P..'rl:<agent_id>'
-- KEYS[5] P..'connectors' (only counted: the server skips the freshness read without any)
-- KEYS[6..5+n] P..'day:<N>' for each UTC day the query (plus buffers, plus whole local
--              days when a daily cap is set) touches
-- ARGV[1] SHA-256 of the caller's API key ('' = the owner)  ARGV[2] scope
-- ARGV[3] JSON {rate, burst} default limits  ARGV[4] the caller's agent_id
-- Returns JSON {r='ok', now, rules_version, timezone, rules, connectors (how many),
--   live = flat array, 4 numbers per live booking in those days:
--     cover_first, cover_last (exclusive bucket), kind, start_ms
--   where kind 0 = commit, 1 = another agent's live hold, 2 = the caller's own live hold,
--   3 = an external event pulled from the owner's real calendar}
--   | {r='error', error='owner_unknown'|'unauthorized'|'insufficient_scope'|'rate_limited'}
-- Cost: one HVALS per day key and one HGET per distinct booking found; bookings on
-- other days are never read, however many the calendar holds. Writes only the token.
-- Bind KEYS and ARGV to names (coordinator/store/calls.py packs them in this order).
local owner_key, bookings_key, agent_key, rl_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local connectors_key = KEYS[5]
local key_hash, scope, limits_json, caller = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local P = prefix_of(owner_key)
local tx = tx_new(P, now_ms())
local now = tx.now
local refused = tx_authorize(tx, agent_key, rl_key, key_hash, scope, cjson.decode(limits_json))
if refused then return tx_finish(tx, refused) end
local o = redis.call('HMGET', owner_key, 'user_id', 'rules_version', 'timezone', 'rules')
if not o[1] then return tx_finish(tx, { r = 'error', error = 'owner_unknown' }) end
fault('opened')
local me = caller
local seen, live = {}, {}
for i = 6, #KEYS do
  for _, id in ipairs(redis.call('HVALS', KEYS[i])) do
    if not seen[id] then
      seen[id] = true
      local rec
      if string.sub(id, 1, 2) == 'x:' then
        -- connectors: an external busy block (see _external.lua), kind 3
        local raw = redis.call('HGET', P .. 'ext', string.sub(id, 3))
        if raw then
          local x = cjson.decode(raw)
          live[#live + 1] = x.f
          live[#live + 1] = x.l
          live[#live + 1] = 3
          live[#live + 1] = x.s
        end
      else
        rec = load_booking(P, id)
      end
      if rec and is_live(rec, now) then
        local kind = 0
        if rec.status == 'HOLD' then kind = (rec.agent_id == me) and 2 or 1 end
        live[#live + 1] = rec.cover_first
        live[#live + 1] = rec.cover_last
        live[#live + 1] = kind
        live[#live + 1] = rec.start_ms
      end
    end
  end
end
return tx_finish(tx, { r = 'ok', now = now, rules_version = tonumber(o[2]) or 1,
  timezone = o[3] or 'UTC', rules = o[4] or '', live = live,
  connectors = redis.call('HLEN', connectors_key) })
