-- hold.lua: place a tentative HOLD (TTL) on every bucket of the cover range.
-- @include _access.lua
-- @include _approvals.lua
-- @include _gate.lua
-- @include _external.lua
-- @include _claim.lua
-- KEYS/ARGV/returns: see _claim.lua. A hold never evicts a commit, and is itself
-- displaced by a same-or-better commit while its TTL runs.
-- Keys written: see _claim.lua.
return claim('hold')
