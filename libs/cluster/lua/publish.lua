-- Appends a node's messages of one event-loop turn to one topic stream, in order: one command for
-- the batch instead of one per message. MAXLEN is the stream's hard bound (trimmer.ts trims to what
-- readers still need).
-- KEYS: stream. ARGV: maxlen, then payload and origin of each message. Returns the entry ids.
local ids = {}
for i = 2, #ARGV, 2 do
  ids[#ids + 1] = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'd', ARGV[i], 'o', ARGV[i + 1])
end
return ids
