export {
  BrokerUnavailableError,
  historyLength,
  QueueFullError,
  type Broker,
  type BrokerHandler,
  type BrokerInspector,
  type BrokerStats,
  type DestinationStats,
  type DestinationTarget,
  type KnownDestinations,
  type Completion,
  type HistoryPrefix,
  type QueueLimits,
  type Replay,
} from './broker.js';
export { MemoryBroker, type MemoryBrokerOptions } from './broker-memory.js';
export { RedisBroker, type ClusterStats, type NodeSnapshot, type RedisBrokerOptions } from './broker-redis.js';
export type { ClusterLog } from './redis/context.js';
export { Deque } from './deque.js';
export { copyBytes, Message, NO_HEADERS, type QueuedMessage, type UserHeaders } from './message.js';
export { comparePositions, formatMessageId, parseMessageId, PositionClock, type StreamPosition } from './message-id.js';
