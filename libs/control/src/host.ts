// What the control plane needs from the node it runs in. The service (services/broker) provides it:
// the session hub, the broker's inspector, and what only the process knows (addresses, metrics).
import type { MetricSample, NodeAddresses, RedisStatus } from '@stompede/admin-api';
import type { BrokerInspector } from '@stompede/broker-api';
import type { Hub } from '@stompede/session';

export interface NodeHost {
  readonly nodeId: string;
  readonly version: string;
  readonly startedAt: Date;
  readonly addresses: NodeAddresses;
  readonly hub: Hub;
  readonly inspector: BrokerInspector;
  /** Redis as the node last saw it; answers from cached state, never waits on Redis. */
  redis(): RedisStatus;
  /** The samples of /metrics, optionally only the named metrics. */
  metricSamples(names: readonly string[]): Promise<MetricSample[]>;
}
