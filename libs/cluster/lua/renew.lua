-- Renews this node's lease on the queue entries it holds: their idle time restarts, so the janitors
-- of other nodes leave them alone. Only ids still pending for this consumer are touched, so an entry
-- another node has reclaimed is never taken back, and JUSTID leaves the delivery counter alone.
-- KEYS: stream. ARGV: group, consumer, ids... Returns how many were renewed.
local mine = {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p == 1 and p[1][2] == ARGV[2] then mine[#mine + 1] = ARGV[i] end
end
if #mine == 0 then return 0 end
local n = #mine
mine[n + 1] = 'JUSTID'
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(mine))
return n
