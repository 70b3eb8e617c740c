-- Trims a topic stream to what is still needed: the destination's history, and every entry some
-- node's consumer group has not read yet (so a node that lags loses nothing), at most the hard bound.
-- Groups of nodes the registry no longer knows are destroyed first (a dead node must not hold the
-- stream). KEYS: stream. ARGV: history, hard bound, '1' to destroy the groups of unknown nodes (only
-- when the caller read the registry just now), known node ids...
-- Returns { most entries any group still has to read (-1: unknown), length after trimming }.
local known = {}
for i = 4, #ARGV do known[ARGV[i]] = true end
local destroy = ARGV[3] == '1'
local keep = tonumber(ARGV[1])
local hard = tonumber(ARGV[2])
local maxLag = 0
local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
if groups.err then return { 0, 0 } end
for _, g in ipairs(groups) do
  local name, lag
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
    if g[i] == 'lag' then lag = g[i + 1] end
  end
  if destroy and not known[name] then
    redis.call('XGROUP', 'DESTROY', KEYS[1], name)
  elseif type(lag) ~= 'number' then
    maxLag = -1
  elseif maxLag >= 0 and lag > maxLag then
    maxLag = lag
  end
end
if maxLag < 0 then keep = hard elseif maxLag > keep then keep = maxLag end
if keep > hard then keep = hard end
redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', keep)
return { maxLag, redis.call('XLEN', KEYS[1]) }
