-- _eval.lua: the top of every script sent by EVAL, before _lib.lua. A Redis Function
-- library (coordinator/store/scripts.py, function_library) leaves it out: Functions
-- need Redis 7, which always replicates a script's effects.
if redis.replicate_commands and not redis.REDIS_VERSION_NUM then
  -- Redis 6.2 needs this before TIME/XADD * can precede writes; 7.x (the first to
  -- set REDIS_VERSION_NUM) always replicates effects, so it skips the call.
  pcall(redis.replicate_commands)
end
