-- A processed queue entry leaves the stream, and its bytes the queue's count.
-- KEYS: stream, bytes counter. ARGV: group, id, size. Returns 1 if the entry was pending, else 0.
local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if n == 1 then
  redis.call('XDEL', KEYS[1], ARGV[2])
  local left = redis.call('DECRBY', KEYS[2], ARGV[3])
  if left <= 0 then redis.call('DEL', KEYS[2]) end
end
return n
