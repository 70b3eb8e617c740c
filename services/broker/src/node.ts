// A broker node: the session hub, its cluster-plane broker and the two listeners, wired together.
import { MemoryBroker, RedisBroker, type Broker } from '@stompede/cluster';
import { Hub, type Logger } from '@stompede/session';
import { sessionConfig } from './config.js';
import { createRegistry } from './metrics.js';
import type { BrokerConfig } from './settings.js';
import { TcpListener } from './transports/tcp.js';
import { WsListener } from './transports/ws.js';
import { loadNativeUws } from './uws.js';
import { VERSION } from './version.js';

export class BrokerNode {
  readonly hub: Hub;
  readonly broker: Broker;
  private readonly ws: WsListener;
  private readonly tcp: TcpListener | undefined;
  private ready = false;

  constructor(
    readonly config: BrokerConfig,
    private readonly logger: Logger,
  ) {
    const uws = loadNativeUws();
    this.broker = createBroker(config, logger);
    // The hub needs the WebSocket listener's native publish, and the listener needs the hub.
    let ws: WsListener | undefined;
    this.hub = new Hub({
      config: sessionConfig(config, VERSION),
      broker: this.broker,
      publisher: { publish: (topic, bytes, binary) => ws!.publish(topic, bytes, binary) },
      logger,
    });
    const registry = createRegistry(this.hub, this.broker);
    ws = new WsListener({
      uws,
      hub: this.hub,
      bind: config.bind,
      port: config.wsPort,
      path: config.wsPath,
      maxFrameBytes: config.maxFrameBytes,
      maxPendingOutboundBytes: config.maxPendingOutboundBytes,
      closeOnBackpressure: config.slowConsumerPolicy === 'disconnect',
      idleTimeoutSec: config.wsIdleTimeoutSec,
      health: () => ({ live: true, ready: this.ready }),
      metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
    });
    this.ws = ws;
    if (config.tcpPort !== 0) this.tcp = new TcpListener(this.hub, config.bind, config.tcpPort, logger);
  }

  async start(): Promise<void> {
    await this.hub.start();
    await this.ws.listen();
    await this.tcp?.listen();
    this.ready = true;
    this.logger.info(
      {
        ws: `ws://${this.config.bind}:${this.config.wsPort}${this.config.wsPath}`,
        tcp: this.tcp ? `${this.config.bind}:${this.config.tcpPort}` : 'off',
        broker: this.broker.kind,
        version: VERSION,
      },
      'stompede listening',
    );
  }

  /**
   * Stops accepting, tells every client (ERROR, then close), waits a little for the connections to
   * take their last bytes and close, and stops the broker.
   */
  async stop(graceMs = 2_000): Promise<void> {
    this.ready = false;
    this.ws.stopListening();
    this.tcp?.stopListening();
    await this.hub.close();
    const deadline = Date.now() + graceMs;
    while (this.hub.connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
}

/** The embedded memory broker, or the Redis one when STOMPEDE_REDIS_URL is set. */
function createBroker(config: BrokerConfig, logger: Logger): Broker {
  const limits = { maxQueueMessages: config.maxQueueMessages, maxQueueBytes: config.maxQueueBytes };
  if (config.redisUrl.length === 0) return new MemoryBroker({ ...limits, history: config.historyMessages });
  return new RedisBroker({
    ...limits,
    urls: config.redisUrl,
    nodeId: config.nodeId,
    keyPrefix: config.redisKeyPrefix,
    partitions: config.redisPartitions,
    readCount: config.redisReadCount,
    outboxMessages: config.redisOutboxMessages,
    outboxBytes: config.redisOutboxBytes,
    heartbeatMs: config.redisHeartbeatMs,
    nodeTtlMs: config.redisNodeTtlMs,
    claimIdleMs: config.queueClaimIdleMs,
    janitorMs: config.queueJanitorMs,
    history: config.historyMessages,
    maxDeliveries: config.maxDeliveries,
    meta: { ws: `${config.bind}:${config.wsPort}${config.wsPath}`, tcp: config.tcpPort === 0 ? 'off' : `${config.bind}:${config.tcpPort}`, version: VERSION },
    log: logger,
  });
}
