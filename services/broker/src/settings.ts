// Every setting of a broker node: its env var, CLI flag, default and meaning. The README's settings
// table is generated from this list (`make docs`) and a test keeps the two in sync.
import { AUTH_METHODS, type AuthConfig, type AuthMethodName } from '@stompede/auth';
import type { HistoryPrefix } from '@stompede/broker-api';
import { redisUrlProblem } from '@stompede/cluster';
import { RESERVED_PREFIXES, type BodyLimit, type DestinationPrefix, type FanoutMode, type SessionConfig, type SlowConsumerPolicy } from '@stompede/session';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type AdminAuthMode = 'token' | 'mtls' | 'none';

/**
 * A node's configuration: everything the session layer takes (SessionConfig, but for the server
 * name, which comes from the package version) plus what the service itself needs.
 */
export interface BrokerConfig extends Omit<SessionConfig, 'serverName'>, AuthConfig {
  readonly bind: string;
  readonly wsPort: number;
  readonly wsPath: string;
  readonly tcpPort: number;
  /** STOMP over TLS: served when tlsCert is set and tlsPort is not 0. */
  readonly tlsPort: number;
  readonly tlsCert: string;
  readonly tlsKey: string;
  readonly tlsWatchMs: number;
  readonly tlsMaxHandshakes: number;
  readonly logLevel: LogLevel;
  readonly logPretty: boolean;
  readonly wsIdleTimeoutSec: number;
  readonly maxQueueMessages: number;
  readonly maxQueueBytes: number;
  /** Empty: the embedded single-node broker. One URL: a Redis server; several: Redis Cluster seeds. */
  readonly redisUrl: readonly string[];
  readonly redisKeyPrefix: string;
  readonly redisPartitions: number;
  readonly redisReadCount: number;
  readonly redisOutboxMessages: number;
  readonly redisOutboxBytes: number;
  readonly redisHeartbeatMs: number;
  readonly redisNodeTtlMs: number;
  readonly queueClaimIdleMs: number;
  readonly queueJanitorMs: number;
  readonly historyMessages: readonly HistoryPrefix[];
  readonly redisReadLingerMs: number;
  readonly redisPublishLingerMs: number;
  readonly redisStreamMaxEntries: number;
  readonly redisLagPressureEntries: number;
  readonly redisMaxPublishesInFlight: number;
  readonly redisTrimIntervalMs: number;
  readonly redisTimeoutMs: number;
  readonly redisStartTimeoutMs: number;
  /** Admin gRPC port; 0 switches the admin API off. */
  readonly adminPort: number;
  readonly adminBind: string;
  /** host:port peers and stompede-ctl reach this node's admin API at; empty = computed. */
  readonly adminAdvertise: string;
  readonly adminAuth: AdminAuthMode;
  readonly adminToken: string;
  readonly adminTokenFile: string;
  readonly adminTlsCert: string;
  readonly adminTlsKey: string;
  readonly adminTlsCa: string;
  readonly healthPort: number;
  readonly adminPeerTimeoutMs: number;
  readonly adminMaxPageSize: number;
  readonly adminMinStatsIntervalMs: number;
  readonly adminMaxDrainMs: number;
  readonly adminMaxStreams: number;
  readonly drainGraceMs: number;
  readonly drainWindowMs: number;
  readonly drainTimeoutMs: number;
  readonly metricsTopQueues: number;
  /** Connections one client address may hold on this node (IPv6: per /64); 0 = no limit. */
  readonly maxConnectionsPerIp: number;
  /** New connections per second one client address may open (token bucket); 0 = no limit. */
  readonly connectionRatePerIp: number;
  /** New connections one address may open at once above connectionRatePerIp (the bucket's size). */
  readonly connectionBurstPerIp: number;
  /** YAML authorization rules (docs/security.md#authorization); empty = no ACL. */
  readonly aclFile: string;
  /** Base path of the SockJS endpoint; empty switches SockJS off. */
  readonly sockjsPath: string;
  readonly sockjsHeartbeatMs: number;
  readonly sockjsDisconnectDelayMs: number;
  readonly sockjsResponseLimitBytes: number;
  readonly demoPage: boolean;
  readonly clusterView: boolean;
}

export interface Setting {
  readonly key: keyof BrokerConfig;
  readonly env: string;
  readonly flag: string;
  /** The default as a user would write it; `undefined` when it is computed at start. */
  readonly defaultText: string | undefined;
  readonly doc: string;
  parse(raw: string): unknown;
}

export class SettingError extends Error {}

const MAX_INT = 2 ** 31 - 1;

function int(min: number, max = MAX_INT) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw)) throw new SettingError(`must be a whole number, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new SettingError(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}

function oneOf<T extends string>(...values: T[]) {
  return (raw: string): T => {
    if (!values.includes(raw as T)) throw new SettingError(`must be one of ${values.join(', ')}, got "${raw}"`);
    return raw as T;
  };
}

function bool(raw: string): boolean {
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new SettingError(`must be true or false, got "${raw}"`);
}

function list(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

function nonEmptyList(raw: string): string[] {
  const l = list(raw);
  if (l.length === 0) throw new SettingError('needs at least one entry');
  return l;
}

function text(raw: string): string {
  return raw;
}

function path(raw: string): string {
  if (!raw.startsWith('/')) throw new SettingError(`must start with /, got "${raw}"`);
  return raw;
}

function heartbeatPair(raw: string): [number, number] {
  const m = /^(\d+),(\d+)$/.exec(raw);
  if (m === null) throw new SettingError(`must be two numbers "send,receive" in ms, got "${raw}"`);
  return [int(0)(m[1]!), int(0)(m[2]!)];
}

function prefixes(raw: string): DestinationPrefix[] {
  return list(raw).map((entry) => {
    const eq = entry.lastIndexOf('=');
    const prefix = entry.slice(0, eq);
    const kind = entry.slice(eq + 1);
    if (eq < 1 || !prefix.startsWith('/') || !prefix.endsWith('/')) {
      throw new SettingError(`entries are "/prefix/=topic" or "/prefix/=queue", got "${entry}"`);
    }
    if (kind !== 'topic' && kind !== 'queue') throw new SettingError(`kind must be topic or queue, got "${kind}"`);
    // A prefix of a reserved one would let wildcard patterns reach the broker's own destinations.
    const reserved = RESERVED_PREFIXES.find((r) => r.startsWith(prefix));
    if (reserved !== undefined) throw new SettingError(`${prefix} is reserved (the broker owns ${reserved})`);
    return { prefix, kind };
  });
}

function redisUrls(raw: string): string[] {
  const urls = list(raw);
  for (const u of urls) {
    if (!/^rediss?:\/\/[^\s]+$/.test(u)) throw new SettingError(`entries must be redis://host:port URLs, got "${u}"`);
  }
  // Seeds that disagree on TLS or credentials would be connected with the first one's (ioredis
  // has one set of options for every node of a cluster): refused here rather than at the first
  // connection, or not at all.
  const problem = redisUrlProblem(urls);
  if (problem !== undefined) throw new SettingError(problem);
  return urls;
}

function history(raw: string): HistoryPrefix[] {
  return list(raw).map((entry) => {
    const eq = entry.lastIndexOf('=');
    const prefix = entry.slice(0, eq);
    if (eq < 1 || !prefix.startsWith('/') || !/^\d{1,9}$/.test(entry.slice(eq + 1))) {
      throw new SettingError(`entries are "/prefix/=<messages>", got "${entry}"`);
    }
    return { prefix, messages: Number(entry.slice(eq + 1)) };
  });
}

function bodyLimits(raw: string): BodyLimit[] {
  return list(raw).map((entry) => {
    const eq = entry.lastIndexOf('=');
    const prefix = entry.slice(0, eq);
    if (eq < 1 || !prefix.startsWith('/') || !/^\d{1,10}$/.test(entry.slice(eq + 1))) {
      throw new SettingError(`entries are "/prefix/=<bytes>", got "${entry}"`);
    }
    return { prefix, bytes: int(0)(entry.slice(eq + 1)) };
  });
}

function authMethods(raw: string): AuthMethodName[] {
  const methods = nonEmptyList(raw);
  for (const m of methods) {
    if (!(AUTH_METHODS as readonly string[]).includes(m)) throw new SettingError(`methods are ${AUTH_METHODS.join(', ')}; got "${m}"`);
  }
  return methods as AuthMethodName[];
}

function httpUrl(raw: string): string {
  if (raw === '') return raw;
  if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) throw new SettingError(`must be an http:// or https:// URL, got "${raw}"`);
  return raw;
}

function positive(raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 1) throw new SettingError(`must be a number >= 1, got "${raw}"`);
  return n;
}

function s(key: keyof BrokerConfig, env: string, defaultText: string | undefined, doc: string, parse: (raw: string) => unknown): Setting {
  const flag = '--' + env.replace(/^STOMPEDE_/, '').toLowerCase().replaceAll('_', '-');
  return { key, env, flag, defaultText, doc, parse };
}

/** STOMP client authentication (docs/security.md, "Authentication"). */
const AUTH_SETTINGS: readonly Setting[] = [
  s('auth', 'STOMPEDE_AUTH', 'anonymous', 'How STOMP clients authenticate at CONNECT: methods tried in order, comma-separated, from anonymous (anyone; only last), users (STOMPEDE_USERS_FILE) and jwt. The default accepts everyone (and logs a warning).', authMethods),
  s('usersFile', 'STOMPEDE_USERS_FILE', '', 'YAML file of logins, scrypt password hashes and groups for the users method (write entries with stompede-ctl passwd); reloaded when it changes.', text),
  s('usersReloadMs', 'STOMPEDE_USERS_RELOAD_MS', '1000', 'How often the users file is checked for changes; a version that does not parse is logged and the last good one stays.', int(10)),
  s('jwtSecret', 'STOMPEDE_JWT_SECRET', '', 'Shared secret (at least 32 bytes) checking HS256 tokens.', text),
  s('jwtPublicKeyFile', 'STOMPEDE_JWT_PUBLIC_KEY_FILE', '', 'PEM public key or certificate (RSA: RS256, P-256: ES256) checking signed tokens.', text),
  s('jwtJwksUrl', 'STOMPEDE_JWT_JWKS_URL', '', 'JWKS URL of the identity provider (RS256/ES256); keys are cached and fetched again when a token names an unknown kid.', httpUrl),
  s('jwtJwksCooldownMs', 'STOMPEDE_JWT_JWKS_COOLDOWN_MS', '30000', 'Least time between two JWKS fetches.', int(0)),
  s('jwtAudience', 'STOMPEDE_JWT_AUDIENCE', '', 'Accepted aud values, comma-separated; empty = aud is not checked.', list),
  s('jwtIssuer', 'STOMPEDE_JWT_ISSUER', '', 'Accepted iss values, comma-separated; empty = iss is not checked.', list),
  s('jwtClockSkewSec', 'STOMPEDE_JWT_CLOCK_SKEW_SEC', '30', 'Clock difference allowed when checking exp and nbf; a connection ends at exp plus this.', int(0, 600)),
  s('jwtPrincipalClaim', 'STOMPEDE_JWT_PRINCIPAL_CLAIM', 'sub', 'Claim holding the principal (user) name; a dotted name reaches into nested objects.', text),
  s('jwtGroupsClaim', 'STOMPEDE_JWT_GROUPS_CLAIM', 'groups', 'Claim holding the principal\'s groups: a list, or a space-separated string; empty = none.', text),
  s('jwtPermissionsClaim', 'STOMPEDE_JWT_PERMISSIONS_CLAIM', '', 'Claim holding {"send": [...], "subscribe": [...], "consume": [...]} destination patterns the token allows; empty = permissions come only from the ACL file.', text),
  s('authFailureDelayMs', 'STOMPEDE_AUTH_FAILURE_DELAY_MS', '1000', 'A refused login gets its ERROR (access refused) this long after its CONNECT arrived, whatever was wrong.', int(0, 60_000)),
  s('authMaxFailuresPerIp', 'STOMPEDE_AUTH_MAX_FAILURES_PER_IP', '10', 'Failed logins one client address (IPv6: one /64) may have within STOMPEDE_AUTH_FAILURE_WINDOW_MS; past it its CONNECTs get ERROR too many failed logins at once.', int(1)),
  s('authFailureWindowMs', 'STOMPEDE_AUTH_FAILURE_WINDOW_MS', '60000', 'Window over which failed logins per client address are counted.', int(1)),
  s('authMaxPendingChecks', 'STOMPEDE_AUTH_MAX_PENDING_CHECKS', '100', 'Users-file password checks (scrypt) that may be in progress at once on a node; past it a login gets ERROR too many logins in progress at once (not counted as failed).', int(1)),
];

export const SETTINGS: readonly Setting[] = [
  s('bind', 'STOMPEDE_BIND', '0.0.0.0', 'Address the WebSocket and TCP listeners bind to.', text),
  s('wsPort', 'STOMPEDE_WS_PORT', '15674', 'WebSocket port; also serves /healthz, /readyz and /metrics.', int(1, 65535)),
  s('wsPath', 'STOMPEDE_WS_PATH', '/ws', 'Path of the STOMP-over-WebSocket endpoint.', path),
  s('tcpPort', 'STOMPEDE_TCP_PORT', '61613', 'STOMP-over-TCP port; 0 switches TCP off.', int(0, 65535)),
  s('tlsPort', 'STOMPEDE_TLS_PORT', '61614', 'STOMP-over-TLS port, served only when STOMPEDE_TLS_CERT is set; 0 switches TLS off.', int(0, 65535)),
  s('tlsCert', 'STOMPEDE_TLS_CERT', '', 'PEM certificate file (leaf first, then intermediates) of the STOMP-over-TLS listener; empty = no TLS listener.', text),
  s('tlsKey', 'STOMPEDE_TLS_KEY', '', 'PEM private key file of STOMPEDE_TLS_CERT.', text),
  s('tlsMaxHandshakes', 'STOMPEDE_TLS_MAX_HANDSHAKES', '1024', 'TLS handshakes in progress at once on this node (a client counts from its TCP connect until its handshake completes or fails, within STOMPEDE_CONNECT_TIMEOUT_MS); past it a new TLS connection is closed at once, before any handshake, and counted in stompede_limit_hits_total{limit="tlsMaxHandshakes"}; 0 = no cap.', int(0)),
  s('tlsWatchMs', 'STOMPEDE_TLS_WATCH_MS', '1000', 'How often the TLS certificate and key files are checked for changes; a changed pair serves new connections, a broken one is logged and the previous pair kept; 0 = never reload.', int(0)),
  s('nodeId', 'STOMPEDE_NODE_ID', undefined, 'Name of this node in logs, session ids and reply-queue names. Default: hostname plus a random suffix.', (raw) => {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(raw)) throw new SettingError(`must be 1-64 of A-Z a-z 0-9 . _ -, got "${raw}"`);
    return raw;
  }),
  s('logLevel', 'STOMPEDE_LOG_LEVEL', 'info', 'pino log level: fatal, error, warn, info, debug, trace or silent.', oneOf<LogLevel>('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent')),
  s('logPretty', 'STOMPEDE_LOG_PRETTY', 'false', 'Human-readable logs through pino-pretty (a dev dependency) instead of JSON lines.', bool),
  s('vhosts', 'STOMPEDE_VHOSTS', '/', 'Virtual hosts, comma-separated; the first is the default for clients that send no host header.', nonEmptyList),
  s('hostAliases', 'STOMPEDE_HOST_ALIASES', 'localhost,127.0.0.1,::1', 'host header values that mean the default vhost (STOMP 1.2 clients send the DNS name they connected to). Any other unknown host is refused.', list),
  s('heartbeatMs', 'STOMPEDE_HEARTBEAT_MS', '10000,10000', 'Server heart-beat offer "send,receive" in ms; 0 turns a direction off.', heartbeatPair),
  s('heartbeatFloorMs', 'STOMPEDE_HEARTBEAT_FLOOR_MS', '1000', 'Shortest heart-beat interval the server agrees to, in either direction.', int(1)),
  s('heartbeatCeilingMs', 'STOMPEDE_HEARTBEAT_CEILING_MS', '60000', 'Longest the server stays silent when the client asked for heart-beats (keeps idle proxies from cutting the connection).', int(1)),
  s('heartbeatGrace', 'STOMPEDE_HEARTBEAT_GRACE', '2', 'A client is dead after this many negotiated intervals without any data.', positive),
  s('connectTimeoutMs', 'STOMPEDE_CONNECT_TIMEOUT_MS', '10000', 'Time from socket open to the CONNECT frame.', int(1)),
  s('frameTimeoutMs', 'STOMPEDE_FRAME_TIMEOUT_MS', '60000', 'A frame begun and not completed within this time ends the connection with ERROR frame timeout (slow-loris); 0 = no limit.', int(0)),
  s('wsIdleTimeoutSec', 'STOMPEDE_WS_IDLE_TIMEOUT_SEC', '120', 'WebSocket-level idle timeout with automatic pings, for dead peers that negotiated no heart-beats; 0 = off, else 8-960.', (raw) => {
    const n = int(0, 960)(raw);
    if (n > 0 && n < 8) throw new SettingError(`must be 0 or between 8 and 960, got ${n}`);
    return n;
  }),
  s('maxFrameBytes', 'STOMPEDE_MAX_FRAME_BYTES', '4194304', 'Largest frame a client may send (command, headers and body).', int(256)),
  s('maxHeaders', 'STOMPEDE_MAX_HEADERS', '100', 'Most headers in one client frame.', int(1)),
  s('maxHeaderLineBytes', 'STOMPEDE_MAX_HEADER_LINE_BYTES', '65536', 'Longest command or header line in a client frame.', int(64)),
  s('maxConnections', 'STOMPEDE_MAX_CONNECTIONS', '100000', 'Most client connections on this node, WebSocket and TCP together.', int(1)),
  s('maxConnectionsPerIp', 'STOMPEDE_MAX_CONNECTIONS_PER_IP', '1000', 'Most connections from one client address (IPv6: one /64) on this node; more are refused with ERROR before a session exists. 0 = no limit (behind a proxy every client has its address).', int(0)),
  s('connectionRatePerIp', 'STOMPEDE_CONNECTION_RATE_PER_IP', '100', 'New connections per second one client address may open on this node (token bucket, STOMPEDE_CONNECTION_BURST_PER_IP deep); faster ones are refused with ERROR. 0 = no limit.', int(0)),
  s('connectionBurstPerIp', 'STOMPEDE_CONNECTION_BURST_PER_IP', '200', 'New connections one client address may open at once before STOMPEDE_CONNECTION_RATE_PER_IP applies.', int(1)),
  s('maxConnectionsPerPrincipal', 'STOMPEDE_MAX_CONNECTIONS_PER_PRINCIPAL', '1000', 'Most connections of one authenticated user on this node (anonymous ones are bounded per address instead); one more is refused at CONNECT. 0 = no limit.', int(0)),
  s('maxSendsPerSecond', 'STOMPEDE_MAX_SENDS_PER_SECOND', '10000', 'SEND frames per second one connection may keep up (token bucket, STOMPEDE_SEND_BURST deep). Beyond it a TCP connection is not read; a WebSocket\'s input is held up to STOMPEDE_MAX_HELD_INPUT_BYTES, then ERROR publisher too fast. 0 = no limit.', int(0)),
  s('sendBurst', 'STOMPEDE_SEND_BURST', '20000', 'SEND frames a connection may send at once before STOMPEDE_MAX_SENDS_PER_SECOND applies.', int(1)),
  s('maxPublishDestinations', 'STOMPEDE_MAX_PUBLISH_DESTINATIONS', '1000', 'Distinct destinations one connection may SEND to (reply queues not counted); one more gets ERROR. 0 = no limit.', int(0)),
  s('maxBodyBytes', 'STOMPEDE_MAX_BODY_BYTES', '', 'Largest SEND body per destination prefix, "prefix=bytes", comma-separated (e.g. /topic/=65536,/queue/=1048576); the longest matching prefix wins, and other destinations are bounded by STOMPEDE_MAX_FRAME_BYTES only. A larger SEND gets ERROR message too large.', bodyLimits),
  s('maxSubscriptions', 'STOMPEDE_MAX_SUBSCRIPTIONS', '1000', 'Most subscriptions (including reply queues) on one connection.', int(1)),
  s('maxPendingOutboundBytes', 'STOMPEDE_MAX_PENDING_OUTBOUND_BYTES', '8388608', 'Bytes that may wait for a slow reader on one connection. Acked and queue deliveries pause at half of it; past it the slow-consumer policy applies.', int(65536)),
  s('slowConsumerPolicy', 'STOMPEDE_SLOW_CONSUMER_POLICY', 'disconnect', 'What an auto-ack topic subscriber that falls behind by maxPendingOutboundBytes gets: disconnect (ERROR and close), or drop (messages skipped and counted in stompede_deliveries_dropped_total{reason="slow_consumer"}).', oneOf<SlowConsumerPolicy>('disconnect', 'drop')),
  s('maxUnacked', 'STOMPEDE_MAX_UNACKED', '10000', 'Most unacknowledged messages per client-ack subscription; prefetch-count can only lower it.', int(1)),
  s('defaultPrefetch', 'STOMPEDE_DEFAULT_PREFETCH', '0', 'prefetch-count for subscriptions that do not set one; 0 = up to maxUnacked.', int(0)),
  s('maxQueueMessages', 'STOMPEDE_MAX_QUEUE_MESSAGES', '100000', 'Most messages one queue holds while waiting for consumers; a SEND beyond it gets ERROR.', int(1)),
  s('maxQueueBytes', 'STOMPEDE_MAX_QUEUE_BYTES', '67108864', 'Most bytes one queue holds while waiting for consumers; a SEND beyond it gets ERROR.', int(1024)),
  s('maxTransactions', 'STOMPEDE_MAX_TRANSACTIONS', '16', 'Most open transactions per connection.', int(1)),
  s('maxTransactionFrames', 'STOMPEDE_MAX_TRANSACTION_FRAMES', '1024', 'Most SEND/ACK/NACK frames one transaction buffers.', int(1)),
  s('maxDeliveries', 'STOMPEDE_MAX_DELIVERIES', '0', 'Delivery attempts before a NACKed message is dead-lettered (or dropped); 0 = unlimited.', int(0)),
  s('deadLetterDestination', 'STOMPEDE_DEAD_LETTER_DESTINATION', '', 'Where NACK requeue:false and delivery-limit messages go, e.g. /queue/dead-letter; empty = they are dropped.', text),
  s('destinationPrefixes', 'STOMPEDE_DESTINATION_PREFIXES', '/topic/=topic,/queue/=queue', 'Destination prefixes and their semantics, "prefix=topic|queue", comma-separated.', prefixes),
  s('aclFile', 'STOMPEDE_ACL_FILE', '', 'YAML file of authorization rules: which principals may send to, subscribe to and consume from which destination patterns (docs/security.md#authorization). Reloaded when it changes; a broken file keeps the last good rules. Empty: every session may do everything, unless its credentials carry permissions.', text),
  s('fanoutMode', 'STOMPEDE_FANOUT_MODE', 'native', 'How auto-ack topic messages reach WebSocket subscribers: native (one uWS publish per group) or per-socket (a send per subscriber). For benchmarking.', oneOf<FanoutMode>('native', 'per-socket')),
  s('redisUrl', 'STOMPEDE_REDIS_URL', '', 'Empty: a single node with the embedded in-memory broker. redis://host:port (rediss:// for TLS): every node pointed at the same Redis forms one cluster. Several URLs, comma-separated: Redis Cluster seed nodes, all redis:// or all rediss://, with the same credentials (docs/cluster.md#connecting-to-redis).', redisUrls),
  s('redisKeyPrefix', 'STOMPEDE_REDIS_KEY_PREFIX', 'stompede', 'Prefix of every Redis key this cluster uses; two clusters can share a Redis with different prefixes.', (raw) => {
    if (!/^[A-Za-z0-9._:-]{1,32}$/.test(raw)) throw new SettingError(`must be 1-32 of A-Z a-z 0-9 . _ : -, got "${raw}"`);
    return raw;
  }),
  s('redisPartitions', 'STOMPEDE_REDIS_PARTITIONS', '16', 'Hash-tag partitions of the destination streams. A node reads all streams of one partition with one blocking XREAD; in Redis Cluster each partition is one slot. Every node of a cluster must use the same value.', int(1, 1024)),
  s('redisReadCount', 'STOMPEDE_REDIS_READ_COUNT', '1000', 'Most entries one XREAD/XREADGROUP returns per stream.', int(1)),
  s('redisOutboxMessages', 'STOMPEDE_REDIS_OUTBOX_MESSAGES', '10000', 'Topic messages a node keeps while Redis is unreachable, sent when it returns; beyond it they are dropped and counted.', int(0)),
  s('redisOutboxBytes', 'STOMPEDE_REDIS_OUTBOX_BYTES', '16777216', 'Bytes of topic messages a node keeps while Redis is unreachable.', int(0)),
  s('redisHeartbeatMs', 'STOMPEDE_REDIS_HEARTBEAT_MS', '1000', 'How often a node refreshes its registry entry and the leases on queue messages it holds.', int(50)),
  s('redisNodeTtlMs', 'STOMPEDE_REDIS_NODE_TTL_MS', '5000', 'A node whose registry entry is this old is gone.', int(100)),
  s('queueClaimIdleMs', 'STOMPEDE_QUEUE_CLAIM_IDLE_MS', '15000', 'A queue message delivered by a node that stopped refreshing its lease this long ago (the node died) goes to another consumer.', int(100)),
  s('queueJanitorMs', 'STOMPEDE_QUEUE_JANITOR_MS', '1000', 'How often a node looks for queue messages to reclaim (XAUTOCLAIM) from dead or departed nodes.', int(10)),
  s('historyMessages', 'STOMPEDE_HISTORY_MESSAGES', '/topic/=1000', 'Topic history kept for x-resume-after, "prefix=messages", comma-separated; the longest matching prefix wins, 0 keeps none (in cluster mode a stream also keeps whatever some node has not read yet).', history),
  s('redisPublishLingerMs', 'STOMPEDE_REDIS_PUBLISH_LINGER_MS', '0', 'A topic publish with none of its destination\'s in flight to Redis waits this long for more before they go as one batch, so that at low rates each write carries several messages: less CPU per message (docs/benchmarks.md), up to this much more latency (RECEIPTs included); 0 = at the end of the event-loop turn.', int(0, 1000)),
  s('redisReadLingerMs', 'STOMPEDE_REDIS_READ_LINGER_MS', '0', 'After a topic read that returned less than a full batch, a node waits this long before reading again, so that at low rates each read takes several messages: a little less CPU per message (12% at 1 ms, docs/benchmarks.md), up to this much more latency; 0 = no wait.', int(0, 1000)),
  s('redisStreamMaxEntries', 'STOMPEDE_REDIS_STREAM_MAX_ENTRIES', '200000', 'Hard bound of a topic stream: it keeps the history and every entry some node has not read yet, up to this many. A node further behind loses what is trimmed (its subscribers are told: x-resume-gap); publishers are refused before that.', int(1000)),
  s('redisLagPressureEntries', 'STOMPEDE_REDIS_LAG_PRESSURE_ENTRIES', '20000', 'When a node reading a destination lags by this many entries, publishers of that destination are slowed: TCP connections stop being read, WebSocket input is held (up to STOMPEDE_MAX_HELD_INPUT_BYTES) until the reader catches up.', int(1)),
  s('redisMaxPublishesInFlight', 'STOMPEDE_REDIS_MAX_PUBLISHES_IN_FLIGHT', '10000', 'Topic messages a node may have sent to Redis and not seen acknowledged; past it every publisher on the node is slowed like under lag pressure.', int(1)),
  s('redisTimeoutMs', 'STOMPEDE_REDIS_TIMEOUT_MS', '3000', 'A Redis command not answered within this long fails; when a heart-beat does, the node treats Redis as unreachable (local delivery, the outbox, ERROR for what must be durable) and reconnects. Catches network paths that stall without closing.', int(100)),
  s('redisStartTimeoutMs', 'STOMPEDE_REDIS_START_TIMEOUT_MS', '20000', 'How long a starting node keeps trying to reach Redis (logging each new reason) before it stops with "cannot start". Keep it inside the startup probe\'s window (30 s in deploy/k8s).', int(100)),
  s('redisTrimIntervalMs', 'STOMPEDE_REDIS_TRIM_INTERVAL_MS', '1000', 'How often a node trims the topic streams it publishes to and learns how far their readers lag (publish pressure follows at this pace).', int(10)),
  s('maxHeldInputBytes', 'STOMPEDE_MAX_HELD_INPUT_BYTES', '1048576', 'Input a WebSocket publisher may send while the cluster pushes back on it (publish pressure; a TCP publisher is simply not read), before it gets ERROR publisher too fast.', int(0)),
  s('coalesce', 'STOMPEDE_COALESCE', 'true', 'Batch the frames of one event-loop turn into one write per socket (and one publish per group). For benchmarking.', bool),
  ...AUTH_SETTINGS,
  s('adminPort', 'STOMPEDE_ADMIN_PORT', '50051', 'Port of the admin gRPC API (AdminService, grpc.health.v1, reflection); 0 switches it off.', int(0, 65535)),
  s('adminBind', 'STOMPEDE_ADMIN_BIND', '127.0.0.1', 'Address the admin API binds to. Loopback by default: set 0.0.0.0 (or the pod IP) in a cluster, so that nodes reach each other.', text),
  s('adminAdvertise', 'STOMPEDE_ADMIN_ADVERTISE', '', 'host:port other nodes and stompede-ctl use to reach this node\'s admin API, put in the cluster registry; empty: the bind address, or the hostname when binding to all interfaces.', text),
  s('adminAuth', 'STOMPEDE_ADMIN_AUTH', 'token', 'How admin calls authenticate: token (Bearer token in metadata), mtls (client certificates signed by STOMPEDE_ADMIN_TLS_CA) or none (anyone who reaches the port; logged as a warning).', oneOf<AdminAuthMode>('token', 'mtls', 'none')),
  s('adminToken', 'STOMPEDE_ADMIN_TOKEN', '', 'The admin bearer token (every node of a cluster needs the same). Empty, with no token file: a random one is generated (shared through Redis in a cluster) and written to a file whose path is logged.', text),
  s('adminTokenFile', 'STOMPEDE_ADMIN_TOKEN_FILE', '', 'File holding the admin bearer token (a mounted Secret, say); read at start.', text),
  s('adminTlsCert', 'STOMPEDE_ADMIN_TLS_CERT', '', 'PEM certificate of the admin API: serves it over TLS (and is this node\'s client certificate towards its peers with mtls).', text),
  s('adminTlsKey', 'STOMPEDE_ADMIN_TLS_KEY', '', 'PEM private key of STOMPEDE_ADMIN_TLS_CERT.', text),
  s('adminTlsCa', 'STOMPEDE_ADMIN_TLS_CA', '', 'PEM CA bundle: checks client certificates (mtls) and the peers\' server certificates.', text),
  s('healthPort', 'STOMPEDE_HEALTH_PORT', '0', 'A plaintext gRPC port serving only grpc.health.v1, for Kubernetes probes when the admin port uses TLS; 0 = none (health is on the admin port).', int(0, 65535)),
  s('adminPeerTimeoutMs', 'STOMPEDE_ADMIN_PEER_TIMEOUT_MS', '2000', 'Deadline of each call a node makes to a peer to answer a cluster-wide admin question; a peer slower than this is reported unreachable.', int(1)),
  s('adminMaxPageSize', 'STOMPEDE_ADMIN_MAX_PAGE_SIZE', '1000', 'Largest page_size an admin listing accepts.', int(1, 100_000)),
  s('adminMinStatsIntervalMs', 'STOMPEDE_ADMIN_MIN_STATS_INTERVAL_MS', '250', 'Shortest interval WatchStats accepts.', int(10)),
  s('adminMaxDrainMs', 'STOMPEDE_ADMIN_MAX_DRAIN_MS', '3600000', 'Longest grace or window a Drain call may ask for.', int(0)),
  s('adminMaxStreams', 'STOMPEDE_ADMIN_MAX_STREAMS', '100', 'Calls one admin client connection may have open at once (HTTP/2 streams; WatchStats and Drain stay open).', int(1)),
  s('drainGraceMs', 'STOMPEDE_DRAIN_GRACE_MS', '5000', 'Drain: time between readiness turning NOT_SERVING and new connections being refused (for the load balancer to notice). Default of Drain calls and of SIGTERM.', int(0)),
  s('drainWindowMs', 'STOMPEDE_DRAIN_WINDOW_MS', '30000', 'Drain: time over which the clients are closed, evenly spread. Default of Drain calls and of SIGTERM.', int(0)),
  s('drainTimeoutMs', 'STOMPEDE_DRAIN_TIMEOUT_MS', '60000', 'SIGTERM drains the node, then exits; past this time it closes whoever is left at once and exits.', int(0)),
  s('sockjsPath', 'STOMPEDE_SOCKJS_PATH', '/sockjs', 'Base path of the SockJS endpoint on the WebSocket port (for sockjs-client: websocket, xhr-streaming, xhr-polling, eventsource, htmlfile); "off" switches SockJS off.', (raw) => (raw === 'off' ? '' : path(raw))),
  s('sockjsHeartbeatMs', 'STOMPEDE_SOCKJS_HEARTBEAT_MS', '25000', 'SockJS heart-beat frames (h) on an idle receiving connection, so that proxies keep it open.', int(100)),
  s('sockjsDisconnectDelayMs', 'STOMPEDE_SOCKJS_DISCONNECT_DELAY_MS', '5000', 'A SockJS session with no receiving request for this long is closed (its subscriptions dropped, unacked messages redelivered).', int(100)),
  s('sockjsResponseLimitBytes', 'STOMPEDE_SOCKJS_RESPONSE_LIMIT_BYTES', '131072', 'A streaming SockJS response (xhr-streaming, eventsource, htmlfile) is ended after this many bytes and the client opens the next, so that browsers free what they buffered.', int(4096)),
  s('demoPage', 'STOMPEDE_DEMO_PAGE', 'true', 'Serve the demo page (the Spring guide\'s greeting flow and a live cluster view) at / on the WebSocket port.', bool),
  s('clusterView', 'STOMPEDE_CLUSTER_VIEW', 'true', 'Serve /api/cluster on the WebSocket port: a read-only JSON summary of the cluster (node ids, states, connections, message rates; no addresses or secrets) for the demo page.', bool),
  s('metricsTopQueues', 'STOMPEDE_METRICS_TOP_QUEUES', '20', 'stompede_queue_depth is exported for this many of the deepest queues (bounded label cardinality); 0 = none.', int(0, 10_000)),
];
