-- _access.lua: who may call, with which scope, and how often. Included (with
-- `-- @include _access.lua`) by every script an agent's key reaches, reads as well
-- as writes, so a rotated or revoked key, a missing scope or an empty token bucket
-- stops the call inside the same atomic step as the work, on the next call, in
-- every process: there is nothing cached outside Redis to go stale.
--
-- Key (always passed in KEYS by the caller):
--   P..'agent:'..id  hash   key_hash, status, scopes (space-separated),
--                           rl_rate? (tokens/s), rl_burst? (tokens): per-agent limits,
--                           rl_tokens? (float), rl_ts? (ms, server clock): the token
--                           bucket. It rides in the agent hash so the check, the bucket
--                           and the charge are one HMGET and one HSET (a bucket of its
--                           own cost two more commands per call: a read and a PEXPIRE).
--                           An agent has one live key at a time, so this is the per-key
--                           bucket; rotating does not refill it. (Earlier versions
--                           kept it in P..'rl:'..id, which expires on its own.)
--
-- key_hash '' is the coordinator acting for the owner (dashboard calls, approvals):
-- no key, no scope, no bucket.

local function agent_scopes(agent_key, stored)
  if stored then return stored end
  -- Agents registered before scopes had their own field keep them in the JSON.
  local raw = redis.call('HGET', agent_key, 'json')
  if not raw then return '' end
  local rec = cjson.decode(raw)
  if type(rec.scopes) ~= 'table' then return '' end
  return table.concat(rec.scopes, ' ')
end

-- The agent hash's fields the checks read, in one HMGET: key_hash, status, scopes,
-- rl_rate, rl_burst, rl_tokens, rl_ts (check_key reads the first three, tx_take_token
-- the rest).
local function agent_access(agent_key)
  return redis.call('HMGET', agent_key, 'key_hash', 'status', 'scopes', 'rl_rate', 'rl_burst',
    'rl_tokens', 'rl_ts')
end

-- nil when the key is live and carries `scope` ('' = any live key), else an error reply.
-- `a` is agent_access(agent_key) when the caller read it already.
local function check_key(agent_key, key_hash, scope, a)
  if key_hash == '' then return nil end
  a = a or agent_access(agent_key)
  if not a[1] or a[2] ~= 'active' or a[1] ~= key_hash then
    return { r = 'error', error = 'unauthorized' }
  end
  if scope ~= '' then
    local scopes = ' ' .. agent_scopes(agent_key, a[3]) .. ' '
    if not string.find(scopes, ' ' .. scope .. ' ', 1, true) then
      return { r = 'error', error = 'insufficient_scope', scope = scope }
    end
  end
  return nil
end

-- Take one token from the agent's bucket (planned in `tx`). `limits` = {rate=<tokens/s>,
-- burst=<tokens>} are the coordinator's defaults; the agent hash may override either
-- (`a`: agent_access(agent_key), when the caller read it already).
-- Returns nil when a token was taken, else an error reply with the ms until one is
-- available (and nothing is planned).
local function tx_take_token(tx, agent_key, limits, a)
  local now = tx.now
  a = a or agent_access(agent_key)
  local rate = tonumber(a[4]) or tonumber(limits.rate)
  local burst = tonumber(a[5]) or tonumber(limits.burst)
  local tokens, ts = tonumber(a[6]), tonumber(a[7])
  if not tokens or not ts then tokens, ts = burst, now end
  if now > ts then
    tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
    ts = now
  end
  if tokens < 1 then
    return { r = 'error', error = 'rate_limited',
      retry_after_ms = math.max(1, math.ceil((1 - tokens) * 1000 / rate)) }
  end
  -- tostring writes '%.14g' (snprintf, ~2,600 instructions); a whole count under 10^14
  -- has the same text from ms().
  local left = tokens - 1
  local text = (left > 0 and left < 1e14 and left % 1 == 0) and ms(left) or tostring(left)
  tx_write(tx, { 'HSET', agent_key, 'rl_tokens', text, 'rl_ts',
    ts == now and now_text(tx) or ms(ts) })
  return nil
end

-- Both checks, in the order the HTTP layer reports them: 401, 403, then 429.
local function tx_authorize(tx, agent_key, key_hash, scope, limits)
  if key_hash == '' then return nil end
  local a = agent_access(agent_key)
  local denied = check_key(agent_key, key_hash, scope, a)
  if denied then return denied end
  return tx_take_token(tx, agent_key, limits, a)
end
