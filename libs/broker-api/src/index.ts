// The broker contract (after centrifuge's broker.go): what the session layer asks of the cluster
// plane and what the cluster plane calls back, the message model both sides share, and message
// ids. Implementations live elsewhere: libs/cluster (memory and Redis).
export {
  BrokerUnavailableError,
  historyLength,
  QueueFullError,
  type Broker,
  type BrokerHandler,
  type BrokerInspector,
  type BrokerStats,
  type Completion,
  type DestinationStats,
  type DestinationTarget,
  type HistoryPrefix,
  type PublishPressure,
  type KnownDestinations,
  type QueueLimits,
  type Replay,
} from './broker.js';
export { Deque } from './deque.js';
export { copyBytes, entrySize, Message, NO_HEADERS, type QueuedMessage, type UserHeaders } from './message.js';
export { comparePositions, formatMessageId, parseMessageId, PositionClock, type StreamPosition } from './message-id.js';
