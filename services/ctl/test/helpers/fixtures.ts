// Canned admin API data: a three-node cluster with one unreachable node.
import {
  Connection,
  ConnectionState,
  Destination,
  DestinationKind,
  DrainPhase,
  DrainResponse,
  DrainStatus,
  durationFromMs,
  Node,
  NodeState,
  Transport,
} from '@stompede/admin-api';

export const STARTED = new Date('2025-03-04T05:06:07Z');

export const SERVING_NODE = Node.fromPartial({
  id: 'node-1',
  state: NodeState.NODE_STATE_SERVING,
  addresses: { websocket: '10.0.0.1:15674/ws', tcp: '10.0.0.1:61613', admin: '10.0.0.1:50051' },
  version: '0.1.0',
  startedAt: STARTED,
  uptime: durationFromMs(2 * 3_600_000 + 5 * 60_000),
  connections: { websocket: 40, tcp: 2 },
  connectionsTotal: 42,
  subscriptions: 17,
  destinations: 5,
  messagesInPerSecond: 120.5,
  messagesOutPerSecond: 4321,
  cpuCores: 0.35,
  rssBytes: 150 * 1024 * 1024,
  eventLoopLag: durationFromMs(3),
  redis: { enabled: true, up: true, readLag: durationFromMs(2), roundTrip: durationFromMs(1), liveNodes: 3 },
});

export const DRAINING_NODE = Node.fromPartial({
  ...SERVING_NODE,
  id: 'node-2',
  state: NodeState.NODE_STATE_DRAINING,
  connectionsTotal: 7,
  drain: drainStatus(DrainPhase.DRAIN_PHASE_CLOSING, 20, 7),
});

export const UNREACHABLE_NODE = Node.fromPartial({
  id: 'node-3',
  state: NodeState.NODE_STATE_UNREACHABLE,
  error: 'deadline exceeded after 2s',
  version: '0.1.0',
});

export function drainStatus(phase: DrainPhase, clientsAtStart: number, clientsLeft: number): DrainStatus {
  return DrainStatus.fromPartial({
    phase,
    startedAt: STARTED,
    grace: durationFromMs(5_000),
    window: durationFromMs(30_000),
    clientsAtStart,
    clientsLeft,
  });
}

export function drainMessage(nodeId: string, phase: DrainPhase, clientsAtStart: number, clientsLeft: number): DrainResponse {
  return DrainResponse.fromPartial({ nodeId, status: drainStatus(phase, clientsAtStart, clientsLeft), time: STARTED });
}

export function connection(index: number, nodeId = 'node-1'): Connection {
  return Connection.fromPartial({
    sessionId: `${nodeId}:s${index}`,
    nodeId,
    transport: index % 2 === 0 ? Transport.TRANSPORT_WEBSOCKET : Transport.TRANSPORT_TCP,
    remoteAddress: `192.168.1.${index}:5000${index % 10}`,
    state: ConnectionState.CONNECTION_STATE_CONNECTED,
    stompVersion: '1.2',
    login: index % 2 === 0 ? 'alice' : '',
    vhost: '/',
    subscriptions: index,
    unacked: 1,
    pendingOutboundBytes: 2048,
    connectedSince: STARTED,
  });
}

export const TOPIC = Destination.fromPartial({
  vhost: '/',
  name: '/topic/prices.ACME',
  kind: DestinationKind.DESTINATION_KIND_TOPIC,
  subscribers: 12,
  subscribersByNode: [{ nodeId: 'node-1', subscribers: 9 }, { nodeId: 'node-2', subscribers: 3 }],
  publishRate: 2.5,
  historyLength: 1000,
});

export const QUEUE = Destination.fromPartial({
  vhost: '/',
  name: '/queue/jobs',
  kind: DestinationKind.DESTINATION_KIND_QUEUE,
  subscribers: 2,
  subscribersByNode: [{ nodeId: 'node-1', subscribers: 2 }],
  queueDepth: 31,
  queuePending: 4,
});

export const PATTERN = Destination.fromPartial({
  vhost: 'staging',
  name: '/topic/chat.*',
  kind: DestinationKind.DESTINATION_KIND_TOPIC,
  pattern: true,
  subscribers: 1,
});
