-- Trims a topic stream to what is still needed: the destination's history, and every entry some
-- node's consumer group has not read yet (so a node that lags loses nothing), at most the hard bound.
-- The groups the caller names are destroyed first (nodes gone for good: a dead node must not hold
-- the stream); the caller decides that from two registry reads, so this script only reports the
-- groups of nodes missing from the ids it is given (a node may have joined after the caller's read).
-- KEYS: stream. ARGV: history, hard bound, n (how many known node ids follow; -1: the caller has no
-- recent registry read, report nothing), the n known node ids, then the groups to destroy.
-- Returns { most entries any group still has to read (-1: unknown), length after trimming, the
-- names of kept groups whose node is not among the known ids... }.
--
-- Redis counts a group's reads one by one (entries-read), so a group that skips entries trimmed
-- before it read them keeps a read counter short by that many, and its lag (entries-added minus
-- entries-read) stays too high for good: its node would press publishers forever. So a group left
-- behind the stream's first entry has its counter dropped (XGROUP SETID without ENTRIESREAD): Redis
-- then derives its lag from the stream (every entry is ahead of it) and recounts exactly once the
-- group reads the first entry. A group at the newest entry whose count disagrees with the stream's
-- is dropped the same way (its lag is then exactly 0). recount.lua does it for the node that
-- noticed the skip.
local function parse(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
local function before(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local function field(list, name)
  for i = 1, #list, 2 do if list[i] == name then return list[i + 1] end end
end

local knownCount = tonumber(ARGV[3])
local known, doomed = {}, {}
for i = 4, 3 + math.max(knownCount, 0) do known[ARGV[i]] = true end
for i = 4 + math.max(knownCount, 0), #ARGV do doomed[ARGV[i]] = true end
local keep = tonumber(ARGV[1])
local hard = tonumber(ARGV[2])
local maxLag = 0
local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
if groups.err then return { 0, 0 } end
local kept, unknown = {}, {}
for _, g in ipairs(groups) do
  local name = field(g, 'name')
  local lag = field(g, 'lag')
  if doomed[name] then
    redis.call('XGROUP', 'DESTROY', KEYS[1], name)
  else
    kept[#kept + 1] = g
    if knownCount >= 0 and not known[name] then unknown[#unknown + 1] = name end
    if type(lag) ~= 'number' then
      maxLag = -1
    elseif maxLag >= 0 and lag > maxLag then
      maxLag = lag
    end
  end
end
if maxLag < 0 then keep = hard elseif maxLag > keep then keep = maxLag end
if keep > hard then keep = hard end
redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', keep)
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local first = field(info, 'first-entry')
local newest = field(info, 'last-generated-id')
local added = field(info, 'entries-added')
for _, g in ipairs(kept) do
  local last = field(g, 'last-delivered-id')
  local read = field(g, 'entries-read')
  -- Behind the first entry: its next read skips what was trimmed. At the newest entry with a count
  -- that disagrees: it skipped entries earlier (read across a trim between two passes).
  local behind = type(first) == 'table' and before(last, first[1])
  local miscounted = last == newest and read ~= added
  if type(read) == 'number' and (behind or miscounted) then
    redis.call('XGROUP', 'SETID', KEYS[1], field(g, 'name'), last)
  end
end
local reply = { maxLag, field(info, 'length') }
for _, name in ipairs(unknown) do reply[#reply + 1] = name end
return reply
