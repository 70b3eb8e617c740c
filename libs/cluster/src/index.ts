// The cluster plane's implementations of the broker contract (@stompede/broker-api): the embedded
// single-node MemoryBroker and the RedisBroker that makes every node pointed at one Redis a cluster.
export { MemoryBroker, type MemoryBrokerOptions } from './broker-memory.js';
export { RedisBroker, type ClusterStats, type NodeSnapshot, type RedisBrokerOptions } from './broker-redis.js';
export type { ClusterLog } from './redis/context.js';
export { redisUrlProblem } from './redis/urls.js';
