export { DEFAULT_SESSION_CONFIG, type SessionConfig, type SlowConsumerPolicy, type FanoutMode, type DestinationPrefix, type DestinationKind } from './config.js';
export type { Transport, GroupPublisher } from './transport.js';
export { Hub, type HubOptions } from './hub.js';
export { Session, type SessionState } from './session.js';
export { Metrics } from './metrics.js';
export { silentLogger, type Logger } from './logger.js';
export { negotiateConnect, type Connected, type Refused } from './connect.js';
export { resolveDestination, hasWildcard, TEMP_QUEUE_PREFIX, REPLY_QUEUE_PREFIX, type Destination } from './destinations.js';
export { WildcardTrie, splitName } from './wildcard-trie.js';
