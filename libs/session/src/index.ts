export { DEFAULT_SESSION_CONFIG, type SessionConfig, type SlowConsumerPolicy, type FanoutMode, type DestinationPrefix, type DestinationKind } from './config.js';
export type { Transport, GroupPublisher } from './transport.js';
export { Hub, type HubOptions } from './hub.js';
export { Session, type SessionState } from './session.js';
export type { Principal, Permissions } from './principal.js';
export {
  ANONYMOUS,
  OPEN_ACCESS,
  TOKEN_REFRESH_DESTINATION,
  isRefusal,
  type Authenticator,
  type AuthOutcome,
  type AuthRefusal,
  type Credentials,
} from './authenticator.js';
export { Metrics, CLIENT_COMMANDS } from './metrics.js';
export { type LocalDestination } from './router.js';
export { Subscription } from './subscription.js';
export {
  closeForDrain,
  closeByAdmin,
  DRAINING_MESSAGE,
  DRAINING_HEADER,
  NODE_HEADER,
  LAST_MESSAGE_ID_PREFIX,
  ADMIN_CLOSE_MESSAGE,
  CLOSE_REASON_HEADER,
} from './departure.js';
export { PUBLISH_WINDOW_MS } from './publish-counts.js';
export { silentLogger, type Logger } from './logger.js';
export { negotiateConnect, type Connected, type Refused } from './connect.js';
export { resolveDestination, hasWildcard, TEMP_QUEUE_PREFIX, REPLY_QUEUE_PREFIX, type Destination } from './destinations.js';
export { WildcardTrie, splitName } from './wildcard-trie.js';
export { TopicIndex, TopicNode } from './topic-index.js';
