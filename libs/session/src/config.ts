// What the session layer needs to know, already parsed and validated by the service at start-up.
import type { ParserLimits } from '@stompede/stomp';

export type SlowConsumerPolicy = 'disconnect' | 'drop';
export type FanoutMode = 'native' | 'per-socket';
export type DestinationKind = 'topic' | 'queue';

export interface DestinationPrefix {
  readonly prefix: string;
  readonly kind: DestinationKind;
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
  readonly maxConnections: number;
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
  maxConnections: 100_000,
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
