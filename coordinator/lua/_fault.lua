-- _fault.lua: TEST ONLY. Compiled in after _lib.lua only when AGENTDRAFT_LUA_FAULTS=1
-- (coordinator/store/scripts.py, which also defines SCRIPT, the transition's name).
-- A script then raises at the step named in the calendar's P..'fault' string, written
-- as '<script>:<step>', proving that an error at that step leaves the store unchanged
-- (tests/engine/test_fault_injection.py). Every script's KEYS[1] is a key of the
-- calendar, so the prefix comes from it.
FAULTS = function(step)
  local P = string.match(KEYS[1], '^(.-{.-}:)')
  if P and redis.call('GET', P .. 'fault') == SCRIPT .. ':' .. step then
    error('fault injected at ' .. SCRIPT .. ':' .. step)
  end
end
