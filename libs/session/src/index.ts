export { DEFAULT_SESSION_CONFIG, type SessionConfig, type BodyLimit, type SlowConsumerPolicy, type FanoutMode, type DestinationPrefix, type DestinationKind } from './config.js';
export type { Transport, GroupPublisher } from './transport.js';
export { Hub, type HubOptions } from './hub.js';
export { Session, type SessionState } from './session.js';
export {
  OPEN_ACCESS,
  TOKEN_REFRESH_DESTINATION,
  isRefusal,
  type Authenticator,
  type AuthOutcome,
  type AuthRefusal,
  type Credentials,
} from './authenticator.js';
export { UNRESTRICTED, OPERATIONS, type Access, type Authorizer, type Operation } from './access.js';
export { ACCESS_REFUSED, MAX_ALLOWED_SENDS } from './authorization.js';
export { ANONYMOUS, type Principal, type Permissions } from './principal.js';
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
export {
  resolveDestination,
  hasWildcard,
  TEMP_QUEUE_PREFIX,
  REPLY_QUEUE_PREFIX,
  USER_PREFIX,
  USER_STREAM_PREFIX,
  RESERVED_PREFIXES,
  nameAsWritten,
  type Destination,
} from './destinations.js';
export { resolveUserDestination, clientDestination, escapeLogin, LOGIN_REQUIRED } from './user-destinations.js';
export { WildcardTrie, splitName } from './wildcard-trie.js';
export { TopicIndex, TopicNode, ScopedTopicNode, type ReadScope } from './topic-index.js';
