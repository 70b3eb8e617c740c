// The control plane of a broker node: what it inspects (NodeHost), how it finds its peers (the
// cluster registry), and its settings.
import { hostname } from 'node:os';
import { durationFromMs, type NodeAddresses, type RedisStatus } from '@stompede/admin-api';
import type { Broker, BrokerInspector } from '@stompede/broker-api';
import { RedisBroker } from '@stompede/cluster';
import { ControlPlane, type DrainHooks, type NodeHost, type PeerDirectory, type PeerRecord } from '@stompede/control';
import { metricSamples } from './metric-samples.js';
import type { Hub, Logger } from '@stompede/session';
import type { Registry } from 'prom-client';
import type { AdminSecrets } from './admin-secrets.js';
import type { BrokerConfig } from './settings.js';
import { VERSION } from './version.js';

/** Longest reason a CloseConnection may give (it goes into an ERROR header). */
const MAX_CLOSE_REASON = 512;

/** The node as its control plane sees it (node.ts's BrokerNode). */
export interface ControlledNode {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  readonly secrets: AdminSecrets;
  readonly hub: Hub;
  readonly broker: Broker & BrokerInspector;
  readonly registry: Registry;
  readonly startedAt: Date;
}

export function createControlPlane(node: ControlledNode, hooks: Omit<DrainHooks, 'setReady'>): ControlPlane {
  const c = node.config;
  return new ControlPlane({
    host: nodeHost(node),
    hooks,
    directory: peerDirectory(node),
    server: c.adminPort === 0 ? undefined : {
      bind: c.adminBind,
      port: c.adminPort,
      healthPort: c.healthPort,
      auth: c.adminAuth,
      tls: node.secrets.tls,
      maxConcurrentStreams: c.adminMaxStreams,
    },
    limits: {
      maxPageSize: c.adminMaxPageSize,
      minStatsIntervalMs: c.adminMinStatsIntervalMs,
      drainGraceMs: c.drainGraceMs,
      drainWindowMs: c.drainWindowMs,
      maxDrainMs: c.adminMaxDrainMs,
      maxReasonLength: MAX_CLOSE_REASON,
    },
    peerTimeoutMs: c.adminPeerTimeoutMs,
    log: node.logger,
  });
}

function nodeHost(node: ControlledNode): NodeHost {
  const c = node.config;
  return {
    nodeId: c.nodeId,
    version: VERSION,
    startedAt: node.startedAt,
    addresses: addresses(c),
    hub: node.hub,
    inspector: node.broker,
    redis: () => redisStatus(node),
    metricSamples: (names) => metricSamples(node.registry, names),
  };
}

function redisStatus(node: ControlledNode): RedisStatus {
  if (!(node.broker instanceof RedisBroker)) return { enabled: false, up: false, readLag: undefined, roundTrip: undefined, liveNodes: 0 };
  const s = node.broker.clusterStats();
  return { enabled: true, up: s.redisUp, readLag: durationFromMs(s.readLagMs), roundTrip: durationFromMs(s.heartbeatRttMs), liveNodes: s.nodesAlive };
}

function peerDirectory(node: ControlledNode): PeerDirectory {
  const broker = node.broker;
  if (!(broker instanceof RedisBroker)) return { list: async () => [] };
  return {
    list: async () =>
      (await broker.nodes()).map((snap): PeerRecord => ({
        id: snap.id,
        adminAddress: String(snap.meta['admin'] ?? ''),
        version: String(snap.meta['version'] ?? ''),
        startedAt: snap.startedAt,
        websocket: String(snap.meta['ws'] ?? ''),
        tcp: String(snap.meta['tcp'] ?? ''),
        state: String(snap.meta['state'] ?? ''),
      })),
  };
}

function addresses(c: BrokerConfig): NodeAddresses {
  const host = reachableHost(c.bind);
  return {
    websocket: `${host}:${c.wsPort}${c.wsPath}`,
    tcp: c.tcpPort === 0 ? '' : `${host}:${c.tcpPort}`,
    admin: c.adminPort === 0 ? '' : adminAdvertise(c),
  };
}

/** Where peers and stompede-ctl reach this node's admin API. */
export function adminAdvertise(c: BrokerConfig): string {
  return c.adminAdvertise !== '' ? c.adminAdvertise : `${reachableHost(c.adminBind)}:${c.adminPort}`;
}

/** A bind address as others can use it: the hostname for "all interfaces", IPv6 in brackets. */
function reachableHost(bind: string): string {
  if (bind === '0.0.0.0' || bind === '::' || bind === '') return hostname();
  return bind.includes(':') ? `[${bind}]` : bind;
}

