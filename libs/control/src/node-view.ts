// A node as the admin API describes it: its own (GetNode on itself), or a peer's from the
// registry when the peer does not answer.
import { durationFromMs, NodeState, type Node } from '@stompede/admin-api';
import { transportName } from './connection-view.js';
import type { Drainer, NodeState as DrainState } from './drain.js';
import type { NodeHost } from './host.js';
import type { PeerRecord } from './peers.js';
import type { NodeSampler } from './sampler.js';

const STATES: Record<DrainState, NodeState> = {
  serving: NodeState.NODE_STATE_SERVING,
  draining: NodeState.NODE_STATE_DRAINING,
  drained: NodeState.NODE_STATE_DRAINED,
};

export function describeNode(host: NodeHost, sampler: NodeSampler, drainer: Drainer): Node {
  const hub = host.hub;
  const connections: Record<string, number> = {};
  for (const [kind, n] of hub.connectionsByTransport) if (n > 0) connections[transportName(kind)] = n;
  let destinations = 0;
  for (const vhost of hub.config.vhosts) destinations += hub.router.localDestinations(vhost).length;
  const sample = sampler.sample;
  return {
    id: host.nodeId,
    state: STATES[drainer.state],
    error: '',
    addresses: host.addresses,
    version: host.version,
    startedAt: host.startedAt,
    uptime: durationFromMs(Date.now() - host.startedAt.getTime()),
    connections,
    connectionsTotal: hub.connections,
    subscriptions: hub.metrics.subscriptions,
    destinations,
    messagesInPerSecond: sample.messagesInPerSecond,
    messagesOutPerSecond: sample.messagesOutPerSecond,
    cpuCores: sample.cpuCores,
    rssBytes: process.memoryUsage.rss(),
    eventLoopLag: durationFromMs(sample.eventLoopLagMs),
    redis: host.redis(),
    drain: drainer.status(),
  };
}

/** What the registry knows of a peer that did not answer. */
export function unreachableNode(peer: PeerRecord, error: string): Node {
  return {
    id: peer.id,
    state: NodeState.NODE_STATE_UNREACHABLE,
    error,
    addresses: { websocket: peer.websocket, tcp: peer.tcp, admin: peer.adminAddress },
    version: peer.version,
    startedAt: peer.startedAt > 0 ? new Date(peer.startedAt) : undefined,
    uptime: undefined,
    connections: {},
    connectionsTotal: 0,
    subscriptions: 0,
    destinations: 0,
    messagesInPerSecond: 0,
    messagesOutPerSecond: 0,
    cpuCores: 0,
    rssBytes: 0,
    eventLoopLag: undefined,
    redis: undefined,
    drain: undefined,
  };
}
