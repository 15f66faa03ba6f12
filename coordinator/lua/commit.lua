-- commit.lua: commit a booking on every bucket of the cover range, or nothing.
-- @include _access.lua
-- @include _approvals.lua
-- @include _gate.lua
-- @include _external.lua
-- @include _plain.lua
-- @include _claim.lua
-- @include _claim_plain.lua
-- KEYS/ARGV/returns: see _claim.lua. Promotes the writer's own holds in range.
-- Keys written: see _claim.lua.
local reply, decoded = claim_plain()
if reply then return reply end
return claim('commit', decoded)
