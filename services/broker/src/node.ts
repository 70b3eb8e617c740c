// A broker node: the session hub, its cluster-plane broker, the listeners (WebSocket, TCP, TLS) and
// the control plane, wired together.
import type { Auth } from '@stompede/auth';
import type { Broker, BrokerInspector } from '@stompede/broker-api';
import { MemoryBroker, RedisBroker } from '@stompede/cluster';
import type { ControlPlane } from '@stompede/control';
import { Hub, type Logger } from '@stompede/session';
import type { Histogram, Registry } from 'prom-client';
import { createAuthorization, type Authorization } from './acl-file.js';
import { randomToken, writeTokenFile, type AdminSecrets } from './admin-secrets.js';
import { Admission } from './admission.js';
import { sessionConfig } from './config.js';
import { createRegistry, redisLagHistogram } from './metrics.js';
import { adminAdvertise, createControlPlane } from './node-control.js';
import type { BrokerConfig } from './settings.js';
import { readStartupTls, tlsFiles, type TlsPair } from './tls-certs.js';
import { TlsEndpoint } from './tls-endpoint.js';
import { SockJsEndpoint } from './transports/sockjs.js';
import { TcpListener } from './transports/tcp.js';
import { WsListener } from './transports/ws.js';
import { loadNativeUws } from './uws.js';
import { mountWeb } from './web.js';
import { VERSION } from './version.js';

export class BrokerNode {
  readonly hub: Hub;
  readonly broker: Broker & BrokerInspector;
  readonly control: ControlPlane;
  readonly registry: Registry;
  readonly startedAt = new Date();
  readonly admission: Admission;
  readonly authorization: Authorization;
  private readonly ws: WsListener;
  private readonly tcp: TcpListener | undefined;
  private readonly tls: TlsEndpoint | undefined;

  constructor(
    readonly config: BrokerConfig,
    readonly logger: Logger,
    readonly secrets: AdminSecrets,
    readonly auth: Auth,
    /** The STOMP-over-TLS certificate and key (main.ts reads them with the other settings). */
    tlsPair: TlsPair | undefined = readStartupTls(config),
  ) {
    const uws = loadNativeUws();
    const redisLag = redisLagHistogram();
    this.authorization = createAuthorization(config, logger);
    this.broker = createBroker(config, logger, redisLag);
    // The hub needs the WebSocket listener's native publish, and the listener needs the hub.
    let ws: WsListener | undefined;
    this.hub = new Hub({
      config: sessionConfig(config, VERSION),
      broker: this.broker,
      publisher: { publish: (topic, bytes, binary) => ws!.publish(topic, bytes, binary) },
      logger,
      authenticator: auth.authenticator,
      authorizer: this.authorization.authorizer,
    });
    this.admission = new Admission(config);
    const files = tlsFiles(config);
    if (tlsPair !== undefined && files !== undefined) this.tls = new TlsEndpoint(this.hub, config, files, tlsPair, logger, this.admission);
    this.registry = createRegistry({
      hub: this.hub,
      admission: this.admission,
      broker: this.broker,
      inspector: this.broker,
      drainState: () => this.control.drainer.state,
      topQueues: config.metricsTopQueues,
      redisLag,
      auth: auth.metrics,
      tls: this.tls,
    });
    const sockjs = config.sockjsPath === '' ? undefined : new SockJsEndpoint({
      uws,
      hub: this.hub,
      prefix: config.sockjsPath,
      heartbeatMs: config.sockjsHeartbeatMs,
      disconnectDelayMs: config.sockjsDisconnectDelayMs,
      responseLimitBytes: config.sockjsResponseLimitBytes,
      maxFrameBytes: config.maxFrameBytes,
      maxPendingOutboundBytes: config.maxPendingOutboundBytes,
      maxSessions: config.maxConnections,
      idleTimeoutSec: config.wsIdleTimeoutSec,
      accepting: () => ws!.accepting,
      admission: this.admission,
    });
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
      admission: this.admission,
      health: () => ({ live: true, ready: this.control.health.ready }),
      metrics: async () => ({ contentType: this.registry.contentType, body: await this.registry.metrics() }),
      extraPaths: sockjs === undefined ? [] : [`${config.sockjsPath}/websocket`],
      mount: (app) => {
        sockjs?.mount(app);
        mountWeb(app, {
          demoPage: config.demoPage,
          clusterView: config.clusterView ? () => this.control.clusterView.answer() : undefined,
          logger,
        });
      },
    });
    this.ws = ws;
    if (config.tcpPort !== 0) this.tcp = new TcpListener(this.hub, config.bind, config.tcpPort, logger, this.admission);
    this.control = createControlPlane(this, {
      setAccepting: (accepting) => this.setAccepting(accepting),
      announce: (state) => {
        if (this.broker instanceof RedisBroker) this.broker.announce({ state }).catch(() => {});
      },
    });
  }

  async start(): Promise<void> {
    await this.hub.start();
    const adminPort = await this.control.start(await this.adminToken());
    await this.ws.listen();
    await this.tcp?.listen();
    await this.tls?.start();
    this.control.serving();
    this.logger.info(
      {
        ws: `ws://${this.config.bind}:${this.config.wsPort}${this.config.wsPath}`,
        tcp: this.tcp ? `${this.config.bind}:${this.config.tcpPort}` : 'off',
        tls: this.tls ? `${this.config.bind}:${this.config.tlsPort}` : 'off',
        ...(this.tls && { tlsCertificate: this.tls.serving.fingerprint256 }),
        sockjs: this.config.sockjsPath === '' ? 'off' : `http://${this.config.bind}:${this.config.wsPort}${this.config.sockjsPath}`,
        admin: adminPort === undefined ? 'off' : `${this.config.adminBind}:${adminPort}`,
        broker: this.broker.kind,
        version: VERSION,
      },
      'stompede listening',
    );
  }

  /**
   * Stops accepting, tells every client still connected (ERROR, then close), waits a little for the
   * connections to take their last bytes and close, and stops the broker and the control plane.
   */
  async stop(graceMs = 2_000): Promise<void> {
    this.control.health.setStopping();
    this.ws.stopListening();
    this.tcp?.stopListening();
    this.tls?.close();
    await this.hub.close();
    const deadline = Date.now() + graceMs;
    while (this.hub.connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.control.stop();
    this.auth.stop();
    this.authorization.stop();
  }

  private async setAccepting(accepting: boolean): Promise<void> {
    this.ws.accepting = accepting;
    for (const listener of [this.tcp, this.tls]) {
      if (accepting) await listener?.listen();
      else listener?.stopListening();
    }
  }

  /**
   * The admin bearer token: the configured one, or one generated now. Nodes of a cluster agree on
   * the first one generated through Redis, so peer calls work without configuring one.
   */
  private async adminToken(): Promise<string | undefined> {
    const c = this.config;
    if (c.adminPort === 0 || c.adminAuth !== 'token') return undefined;
    if (this.secrets.token !== undefined) return this.secrets.token;
    const candidate = randomToken();
    const token = this.broker instanceof RedisBroker ? await this.broker.sharedValue('admin-token', candidate) : candidate;
    const file = writeTokenFile(c.nodeId, token);
    this.logger.info({ tokenFile: file, admin: adminAdvertise(c) }, `admin token generated: stompede-ctl --server ${adminAdvertise(c)} --token-file ${file} nodes`);
    return token;
  }
}

/** The embedded memory broker, or the Redis one when STOMPEDE_REDIS_URL is set. */
function createBroker(config: BrokerConfig, logger: Logger, redisLag: Histogram): Broker & BrokerInspector {
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
    readLingerMs: config.redisReadLingerMs,
    publishLingerMs: config.redisPublishLingerMs,
    streamMaxEntries: config.redisStreamMaxEntries,
    streamLagPressure: config.redisLagPressureEntries,
    maxPublishesInFlight: config.redisMaxPublishesInFlight,
    trimIntervalMs: config.redisTrimIntervalMs,
    timeoutMs: config.redisTimeoutMs,
    startTimeoutMs: config.redisStartTimeoutMs,
    history: config.historyMessages,
    // Patterns are only allowed on topic prefixes, so nothing else is announced for them.
    patternPrefixes: config.destinationPrefixes.filter((p) => p.kind === 'topic').map((p) => p.prefix),
    maxDeliveries: config.maxDeliveries,
    meta: registryMeta(config),
    log: logger,
    onReadLag: (ms) => redisLag.observe(ms / 1000),
  });
}

/** What the cluster registry says about this node: its addresses and version. */
function registryMeta(c: BrokerConfig): Record<string, string> {
  return {
    ws: `${c.bind}:${c.wsPort}${c.wsPath}`,
    tcp: c.tcpPort === 0 ? 'off' : `${c.bind}:${c.tcpPort}`,
    admin: c.adminPort === 0 ? '' : adminAdvertise(c),
    version: VERSION,
    state: 'serving',
  };
}
