// Lua for the few operations that must be atomic on one key (and its hash-tag neighbours), so each
// costs one round trip and stays valid in Redis Cluster.
import { cmdBuffer, type Conn } from './connection.js';

export interface Script {
  readonly source: string;
  readonly keys: number;
}

function script(keys: number, source: string): Script {
  return { source, keys };
}

/** KEYS: stream, bytes. ARGV: maxMessages, maxBytes, size, payload. -1/-2: over the message/byte bound. */
export const ENQUEUE = script(2, `
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
local held = tonumber(redis.call('GET', KEYS[2]) or '0')
if held + tonumber(ARGV[3]) > tonumber(ARGV[2]) then return -2 end
redis.call('INCRBY', KEYS[2], ARGV[3])
return redis.call('XADD', KEYS[1], '*', 'd', ARGV[4])
`);

/** KEYS: stream, bytes. ARGV: group, id, size. A processed queue entry leaves the stream. */
export const ACK = script(2, `
local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if n == 1 then
  redis.call('XDEL', KEYS[1], ARGV[2])
  local left = redis.call('DECRBY', KEYS[2], ARGV[3])
  if left <= 0 then redis.call('DEL', KEYS[2]) end
end
return n
`);

/**
 * KEYS: stream. ARGV: group, consumer, ids... Renews this node's lease on the entries it holds (their
 * idle time restarts, so the janitors of other nodes leave them alone). Only ids still pending for
 * this consumer are touched, so an entry another node has reclaimed is never taken back, and JUSTID
 * leaves the delivery counter alone.
 */
export const RENEW = script(1, `
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
`);

/** KEYS: known set, announcement stream. ARGV: destination. Announces a destination the first time. */
export const ANNOUNCE = script(2, `
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, '*', 'd', ARGV[1])
end
return false
`);

/**
 * Runs a script with EVAL. Not EVALSHA with a NOSCRIPT fallback: with pipelining, the commands
 * that fail with NOSCRIPT (the first ones after start or after a Redis restart) would be retried
 * behind later ones and reorder a queue. Redis caches the compiled script by its hash, so EVAL
 * costs only the script's bytes on the wire.
 */
export function run(conn: Conn, s: Script, keys: readonly string[], args: readonly (string | number | Buffer)[]): Promise<unknown> {
  return cmdBuffer(conn, 'EVAL', [s.source, s.keys, ...keys, ...args]);
}
