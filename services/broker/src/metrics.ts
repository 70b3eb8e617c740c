// Prometheus exposition of a node's counters. The hot path only bumps plain numbers in
// Hub.metrics; prom-client reads them when /metrics is scraped (and WatchStats reads the same
// registry). Every label has a bounded set of values: transports, client commands, ERROR
// messages (fixed strings in the code), drop reasons, and the top N queues.
import type { AuthMetrics } from '@stompede/auth';
import type { Broker, BrokerInspector } from '@stompede/broker-api';
import { RedisBroker } from '@stompede/cluster';
import type { NodeState } from '@stompede/control';
import type { Hub } from '@stompede/session';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Admission } from './admission.js';
import { counterOf, gaugeOf, labelledCounterOf } from './metric-kinds.js';
import { clusterMetrics } from './metrics-cluster.js';
import { queueDepthGauge } from './metrics-queues.js';
import { tlsMetrics, type TlsMetricSource } from './metrics-tls.js';

export interface MetricSources {
  readonly hub: Hub;
  readonly admission: Admission;
  readonly broker: Broker;
  readonly inspector: BrokerInspector;
  readonly drainState: () => NodeState;
  /** stompede_queue_depth covers this many of the deepest queues. */
  readonly topQueues: number;
  /** Observed by the Redis broker on every topic read (cluster mode only). */
  readonly redisLag: Histogram;
  readonly auth: AuthMetrics;
  /** The STOMP-over-TLS listener, when it runs. */
  readonly tls?: TlsMetricSource;
}

const DRAIN_STATES: Record<NodeState, number> = { serving: 0, draining: 1, drained: 2 };
const TRANSPORTS: Record<string, string> = { ws: 'websocket', tcp: 'tcp', tls: 'tls' };

/** Seconds from a topic message's XADD to this node reading it; registered with the cluster metrics. */
export function redisLagHistogram(): Histogram {
  return new Histogram({
    name: 'stompede_redis_lag_seconds',
    help: 'Time from a topic message being stored in Redis (XADD) to this node reading it, per read (the oldest entry of the read).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [],
  });
}

export function createRegistry(sources: MetricSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const { hub, broker } = sources;
  const m = hub.metrics;
  const counter = (name: string, help: string, read: () => number): void => counterOf(registry, name, help, read);
  const gauge = (name: string, help: string, read: () => number): void => gaugeOf(registry, name, help, read);
  new Gauge({
    name: 'stompede_connections',
    help: 'Open client connections, by transport.',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      const configured = sources.tls === undefined ? ['ws', 'tcp', 'sockjs'] : ['ws', 'tcp', 'tls', 'sockjs'];
      for (const kind of new Set([...configured, ...hub.connectionsByTransport.keys()])) {
        this.set({ transport: TRANSPORTS[kind] ?? kind }, hub.connectionsByTransport.get(kind) ?? 0);
      }
    },
  });
  counter('stompede_connections_opened_total', 'Client connections accepted.', () => m.connectionsOpened);
  counter('stompede_connections_closed_total', 'Client connections closed, by either side.', () => m.connectionsClosed);
  labelledCounterOf(registry, 'stompede_frames_in_total', 'Client frames parsed, by command (OTHER: unknown commands).', 'command', () => m.framesByCommand);
  counter('stompede_received_bytes_total', 'Bytes received from clients.', () => m.bytesIn);
  counter('stompede_messages_published_total', 'SEND frames accepted (topics and queues).', () => m.messagesPublished);
  counter('stompede_messages_enqueued_total', 'SEND frames accepted for queues (part of stompede_messages_published_total).', () => m.messagesEnqueued);
  counter('stompede_messages_delivered_total', 'MESSAGE frames handed to sockets.', () => m.messagesDelivered);
  counter('stompede_messages_redelivered_total', 'Messages delivered again after NACK or a lost consumer.', () => m.messagesRedelivered);
  counter('stompede_messages_dead_lettered_total', 'Messages moved to the dead-letter destination.', () => m.messagesDeadLettered);
  labelledCounterOf(registry, 'stompede_deliveries_dropped_total', 'Messages that reached no subscriber, by reason: slow_consumer (slowConsumerPolicy=drop), unroutable (reply queue gone), discarded (rejected or past maxDeliveries with no dead-letter destination), outbox_full (Redis outage outbox full; cluster mode).', 'reason', () => dropped(sources));
  counter('stompede_slow_consumer_disconnects_total', 'Connections closed for not reading fast enough.', () => m.slowConsumerDisconnects);
  counter('stompede_heartbeat_timeouts_total', 'Connections closed for missing heart-beats.', () => m.heartbeatTimeouts);
  gauge('stompede_publishers_held', 'Connections whose input is held because the cluster pushes back on their publishing (publish pressure).', () => hub.inputsHeld);
  counter('stompede_publisher_holds_total', 'Times a publisher\'s input was held for publish pressure.', () => m.inputHolds);
  gauge('stompede_subscriptions', 'Open subscriptions on this node, reply queues included.', () => m.subscriptions);
  gauge('stompede_queued_messages', 'Queue messages held in this node\'s memory (embedded: every queue; cluster: read ahead for local consumers).', () => broker.stats().queuedMessages);
  gauge('stompede_queued_bytes', 'Bytes of queue messages held in this node\'s memory.', () => broker.stats().queuedBytes);
  labelledCounterOf(registry, 'stompede_limit_hits_total', 'Clients refused or throttled by an abuse limit, by the setting (docs/security.md, Limits): per-address admission refusals, per-user and per-connection refusals, SEND-rate throttles, stalled frames.', 'limit', () => new Map([...m.limitHits, ...sources.admission.hits]));
  labelledCounterOf(registry, 'stompede_access_denied_total', 'Frames refused by authorization (ERROR access refused), by operation: send, subscribe (topics), consume (queues).', 'operation', () => m.accessDenied);
  counter('stompede_access_wildcard_exclusions_total', 'Destinations a wildcard subscription matched but its principal may not read: their messages skip it (counted once per binding, not per message).', () => m.wildcardExclusions);
  labelledCounterOf(registry, 'stompede_errors_total', 'ERROR frames sent, by reason (their message header).', 'reason', () => m.errors);
  gauge('stompede_drain_state', 'This node\'s drain state: 0 serving, 1 draining, 2 drained.', () => DRAIN_STATES[sources.drainState()]);
  authMetrics(registry, sources.auth);
  if (sources.topQueues > 0) registry.registerMetric(queueDepthGauge(sources));
  if (broker instanceof RedisBroker) clusterMetrics(registry, broker, sources.redisLag);
  if (sources.tls !== undefined) tlsMetrics(registry, sources.tls);
  return registry;
}

function dropped(sources: MetricSources): Map<string, number> {
  const m = sources.hub.metrics;
  const counts = new Map([
    ['slow_consumer', m.slowConsumerDrops],
    ['unroutable', sources.broker.stats().unroutable],
    ['discarded', m.messagesDiscarded],
  ]);
  if (sources.broker instanceof RedisBroker) counts.set('outbox_full', sources.broker.clusterStats().outboxDropped);
  return counts;
}

function authMetrics(registry: Registry, a: AuthMetrics): void {
  labelledCounterOf(registry, 'stompede_auth_successes_total', 'CONNECTs accepted, by authentication method.', 'method', () => a.successes);
  labelledCounterOf(registry, 'stompede_auth_failures_total', 'CONNECTs refused with access refused, by the method that refused them (none: no configured method applied).', 'method', () => a.failures);
  counterOf(registry, 'stompede_auth_rate_limited_total', 'CONNECTs refused unchecked because their address had too many failed logins (STOMPEDE_AUTH_MAX_FAILURES_PER_IP).', () => a.rateLimited);
  counterOf(registry, 'stompede_auth_busy_total', 'CONNECTs turned away because too many password checks were in progress (STOMPEDE_AUTH_MAX_PENDING_CHECKS).', () => a.busy);
  labelledCounterOf(registry, 'stompede_auth_refreshes_total', 'Token refreshes on live connections (SEND to /stompede/token), by result.', 'result', () => a.refreshes);
}
