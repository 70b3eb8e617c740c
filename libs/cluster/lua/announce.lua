-- Announces a destination the first time it is published to, for wildcard subscribers.
-- KEYS: known set, announcement stream. ARGV: destination. Returns the announcement id, or false.
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, '*', 'd', ARGV[1])
end
return false
