-- counter_reject.lua: the booking's agent declines a pending counter; its booking stays.
-- @include _access.lua
-- @include _counters.lua
-- KEYS/ARGV: see _counters.lua (ARGV[6] unused).
-- Returns JSON {r='ok', counter, now} | {r='error', error='not_found' (what)|'forbidden'|
--   'counter_decided' (counter)} | an _access.lua refusal.
local tx, refused = counter_open()
if refused then return tx_finish(tx, refused) end
fault('opened')
local rec, cn, no = counter_for_decision(tx)
if no then return tx_finish(tx, no) end
tx_decide_counter(tx, cn, 'rejected', nil, nil)
fault('decided')
return tx_finish(tx, { r = 'ok', counter = cn, now = tx.now })
