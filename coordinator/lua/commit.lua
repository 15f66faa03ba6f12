-- commit.lua: commit a booking on every bucket of the cover range, or nothing.
-- @include _access.lua
-- @include _approvals.lua
-- @include _gate.lua
-- @include _external.lua
-- @include _plain.lua
-- @include _claim.lua
-- KEYS/ARGV/returns: see _claim.lua. Promotes the writer's own holds in range.
-- Keys written: see _claim.lua.
return claim('commit')
