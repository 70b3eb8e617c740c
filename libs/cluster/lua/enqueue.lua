-- Appends a message to a queue unless the queue is at one of its bounds.
-- KEYS: stream, bytes counter. ARGV: maxMessages, maxBytes, size, payload.
-- Returns the entry id, or -1 / -2 when over the message / byte bound.
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
local held = tonumber(redis.call('GET', KEYS[2]) or '0')
if held + tonumber(ARGV[3]) > tonumber(ARGV[2]) then return -2 end
redis.call('INCRBY', KEYS[2], ARGV[3])
return redis.call('XADD', KEYS[1], '*', 'd', ARGV[4])
