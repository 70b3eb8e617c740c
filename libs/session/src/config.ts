// What the session layer needs to know, already parsed and validated by the service at start-up.
import type { ParserLimits } from '@stompede/stomp';

export type SlowConsumerPolicy = 'disconnect' | 'drop';
export type FanoutMode = 'native' | 'per-socket';
export type DestinationKind = 'topic' | 'queue';

export interface DestinationPrefix {
  readonly prefix: string;
  readonly kind: DestinationKind;
}

/** Largest SEND body for destinations starting with `prefix` (the longest matching prefix wins). */
export interface BodyLimit {
  readonly prefix: string;
  readonly bytes: number;
}

export interface SessionConfig extends ParserLimits {
  readonly nodeId: string;
  readonly serverName: string;
  /** Virtual hosts; the first is where clients without `host` go. */
  readonly vhosts: readonly string[];
  /** `host` values that also mean the default vhost (DNS names clients put in `host`). */
  readonly hostAliases: readonly string[];
  /** Server side of heart-beat negotiation: [can send every, wants to receive every]. */
  readonly heartbeatMs: readonly [number, number];
  readonly heartbeatFloorMs: number;
  readonly heartbeatCeilingMs: number;
  /** A client is dead after this many of its negotiated intervals without data. */
  readonly heartbeatGrace: number;
  readonly connectTimeoutMs: number;
  /** A frame begun and not completed within this long ends the connection (slow-loris); 0 = no limit. */
  readonly frameTimeoutMs: number;
  readonly maxConnections: number;
  /** Connections one authenticated principal may hold on this node (anonymous ones are not counted); 0 = no limit. */
  readonly maxConnectionsPerPrincipal: number;
  /** SEND frames per second one connection may keep up (token bucket); 0 = no limit. */
  readonly maxSendsPerSecond: number;
  /** SEND frames a connection may send at once above maxSendsPerSecond (the bucket's size). */
  readonly sendBurst: number;
  /** Distinct destinations one connection may SEND to (reply queues not counted); 0 = no limit. */
  readonly maxPublishDestinations: number;
  /** SEND body limits per destination prefix; destinations matching none are bounded by maxFrameBytes only. */
  readonly maxBodyBytes: readonly BodyLimit[];
  readonly maxSubscriptions: number;
  readonly maxPendingOutboundBytes: number;
  readonly slowConsumerPolicy: SlowConsumerPolicy;
  readonly maxUnacked: number;
  readonly defaultPrefetch: number;
  readonly maxTransactions: number;
  readonly maxTransactionFrames: number;
  readonly maxDeliveries: number;
  readonly deadLetterDestination: string;
  readonly destinationPrefixes: readonly DestinationPrefix[];
  readonly fanoutMode: FanoutMode;
  /** Input a WebSocket publisher may send while it is held for publish pressure, before it is closed. */
  readonly maxHeldInputBytes: number;
  readonly coalesce: boolean;
}

export const DEFAULT_SESSION_CONFIG: SessionConfig = {
  nodeId: 'node',
  serverName: 'Stompede/0.1.0',
  maxFrameBytes: 4 * 1024 * 1024,
  maxHeaders: 100,
  maxHeaderLineBytes: 64 * 1024,
  vhosts: ['/'],
  hostAliases: ['localhost', '127.0.0.1', '::1'],
  heartbeatMs: [10_000, 10_000],
  heartbeatFloorMs: 1_000,
  heartbeatCeilingMs: 60_000,
  heartbeatGrace: 2,
  connectTimeoutMs: 10_000,
  frameTimeoutMs: 60_000,
  maxConnections: 100_000,
  maxConnectionsPerPrincipal: 1_000,
  maxSendsPerSecond: 10_000,
  sendBurst: 20_000,
  maxPublishDestinations: 1_000,
  maxBodyBytes: [],
  maxSubscriptions: 1_000,
  maxPendingOutboundBytes: 8 * 1024 * 1024,
  slowConsumerPolicy: 'disconnect',
  maxUnacked: 10_000,
  defaultPrefetch: 0,
  maxTransactions: 16,
  maxTransactionFrames: 1_024,
  maxDeliveries: 0,
  deadLetterDestination: '',
  destinationPrefixes: [
    { prefix: '/topic/', kind: 'topic' },
    { prefix: '/queue/', kind: 'queue' },
  ],
  fanoutMode: 'native',
  maxHeldInputBytes: 1024 * 1024,
  coalesce: true,
};
