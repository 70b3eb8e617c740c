export { QueueFullError, type Broker, type BrokerHandler, type BrokerStats, type Completion, type QueueLimits } from './broker.js';
export { MemoryBroker } from './broker-memory.js';
export { Deque } from './deque.js';
export { Message, NO_HEADERS, type QueuedMessage, type UserHeaders } from './message.js';
export { formatMessageId, parseMessageId, PositionClock, type StreamPosition } from './message-id.js';
