-- authorize.lua: check an agent's key and scope and take a token, for the reads that
-- are not scripts themselves (audit queries, agents.me, rules as an agent sees them).
-- @include _access.lua
-- KEYS[1] P..'agent:<agent_id>'  KEYS[2] P..'rl:<agent_id>'
-- ARGV[1] SHA-256 of the caller's API key  ARGV[2] scope needed ('' = any live key)
-- ARGV[3] JSON {rate, burst}: the coordinator's default limits
-- Returns JSON {r='ok'} | {r='error', error='unauthorized'|'insufficient_scope'|
--   'rate_limited', retry_after_ms?}. Writes only the token bucket.
local tx = tx_new(nil, now_ms())
local refused = tx_authorize(tx, KEYS[1], KEYS[2], ARGV[1], ARGV[2], cjson.decode(ARGV[3]))
if refused then return tx_finish(tx, refused) end
fault('opened')
return tx_finish(tx, { r = 'ok' })
