-- Makes this node's consumer group of a stream start after ARGV[2] ('$': after the newest entry),
-- whether the group exists (a node that watched it before, or recovers after Redis lost it) or not.
-- The stream is created if missing. Reads through the group (XREADGROUP ... NOACK) then return every
-- entry after that position, and the group's position is what the trimmer leaves in place.
-- The group's read counter is set too (ENTRIESREAD), so that Redis can tell how far the group lags
-- (XINFO GROUPS lag, what trim.lua keeps entries and presses publishers by) from the start: when
-- more than ARGV[3] entries follow the position, it is left unknown rather than counted.
-- KEYS: stream. ARGV: group (the node id), start id or '$', most entries to count.
-- Returns the start id ('$' resolved).
local created = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], ARGV[2], 'MKSTREAM')
if type(created) == 'table' and created.err and not string.find(created.err, 'BUSYGROUP') then
  return redis.error_reply(created.err)
end
local last, added = '0-0', 0
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1] end
  if info[i] == 'entries-added' then added = info[i + 1] end
end
local start = ARGV[2]
if start == '$' then start = last end
local after = redis.call('XRANGE', KEYS[1], '(' .. start, '+', 'COUNT', tonumber(ARGV[3]) + 1)
if #after <= tonumber(ARGV[3]) then
  redis.call('XGROUP', 'SETID', KEYS[1], ARGV[1], start, 'ENTRIESREAD', added - #after)
else
  redis.call('XGROUP', 'SETID', KEYS[1], ARGV[1], start)
end
return start
