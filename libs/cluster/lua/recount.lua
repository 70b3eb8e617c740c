-- A node found entries missing before the ones it just read through its consumer group (trimmed
-- before it got to them, or lost by Redis): Redis's read counter of the group (entries-read) is then
-- short by that many, and the group's lag would stay too high for good (see trim.lua). Dropping the
-- counter (XGROUP SETID without ENTRIESREAD, at the group's own current position, so a read in
-- flight is not undone) makes Redis recount it exactly when the group next reads the newest entry.
-- KEYS: stream. ARGV: group (the node id).
local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
if groups.err then return 0 end
for _, g in ipairs(groups) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
    if g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  if name == ARGV[1] then
    redis.call('XGROUP', 'SETID', KEYS[1], ARGV[1], last)
    return 1
  end
end
return 0
