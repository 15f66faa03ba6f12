-- authorize.lua: check an agent's key and scope and take a token, for the reads that
-- are not scripts themselves (audit queries, agents.me, rules as an agent sees them).
-- @include _access.lua
-- KEYS[1] P..'agent:<agent_id>' (its key, scope and token bucket)
-- ARGV[1] SHA-256 of the caller's API key  ARGV[2] scope needed ('' = any live key)
-- ARGV[3] JSON {rate, burst}: the coordinator's default limits
-- Returns JSON {r='ok'} | {r='error', error='unauthorized'|'insufficient_scope'|
--   'rate_limited', retry_after_ms?}. Writes only the token bucket (in the agent hash).
-- Bind KEYS and ARGV to names (coordinator/store/calls.py packs them in this order).
local agent_key = KEYS[1]
local key_hash, scope, limits_json = ARGV[1], ARGV[2], ARGV[3]
local tx = tx_new(nil, now_ms())
local refused = tx_authorize(tx, agent_key, key_hash, scope, cjson.decode(limits_json))
if refused then return tx_finish(tx, refused) end
fault('opened')
return tx_finish(tx, { r = 'ok' })
