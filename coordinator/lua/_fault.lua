-- _fault.lua: TEST ONLY. Compiled in after _lib.lua only when AGENTDRAFT_LUA_FAULTS=1
-- (coordinator/store/scripts.py, which also defines SCRIPT, the transition's name).
-- A script then raises at the step named in the calendar's P..'fault' string, written
-- as '<script>:<step>', proving that an error at that step leaves the store unchanged
-- (tests/engine/test_fault_injection.py). Every script's KEYS[1] is a key of the
-- calendar, so the prefix comes from it. The calendar's P..'clock' (milliseconds), when
-- set, is the scripts' clock, and its P..'general' = '1' sends a plain commit down the
-- general claim (tests/engine/test_plain_claim.py).
FAULTS = function(step)
  local P = string.match(KEYS[1], '^(.-{.-}:)')
  if P and redis.call('GET', P .. 'fault') == SCRIPT .. ':' .. step then
    error('fault injected at ' .. SCRIPT .. ':' .. step)
  end
end
CLOCK = function()
  local P = string.match(KEYS[1], '^(.-{.-}:)')
  return P and tonumber(redis.call('GET', P .. 'clock')) or nil
end
FORCE_GENERAL = function()
  local P = string.match(KEYS[1], '^(.-{.-}:)')
  return P and redis.call('GET', P .. 'general') == '1'
end
