// The clustered broker: every node pointed at the same Redis (or Redis Cluster) forms one broker.
// Topics, queues and replies each have their own plane (redis/topics.ts, redis/queues.ts,
// redis/replies.ts); this class routes the Broker calls to them and follows Redis's availability:
// while Redis is unreachable, local topic delivery goes on and cross-node messages wait in a
// bounded outbox, while whatever must be durable is refused; when Redis returns, the node
// re-registers, restarts its reads and flushes the outbox. docs/architecture.md has the design,
// docs/invariants.md what it guarantees.
import type {
  Broker,
  BrokerHandler,
  BrokerInspector,
  BrokerStats,
  Completion,
  DestinationStats,
  DestinationTarget,
  KnownDestinations,
  PublishPressure,
  QueuedMessage,
  Replay,
  UserHeaders,
} from '@stompede/broker-api';
import { cmd, connectNow, resetConnection } from './redis/connection.js';
import { RedisContext, type ClusterCounters, type RedisBrokerOptions } from './redis/context.js';
import { Followers } from './redis/follow.js';
import { replay } from './redis/history.js';
import { destinationStats, knownDestinations } from './redis/inspect.js';
import { QueuePlane } from './redis/queues.js';
import { Registry, type NodeSnapshot } from './redis/registry.js';
import { isReplyQueue, ReplyPlane } from './redis/replies.js';
import { TopicPlane } from './redis/topics.js';

export type { RedisBrokerOptions } from './redis/context.js';
export type { NodeSnapshot } from './redis/registry.js';

export interface ClusterStats extends ClusterCounters {
  readonly redisUp: boolean;
  readonly outboxMessages: number;
  readonly outboxBytes: number;
  readonly watchedStreams: number;
  readonly nodesAlive: number;
}

export class RedisBroker implements Broker, BrokerInspector {
  readonly kind = 'redis';
  private readonly ctx: RedisContext;
  private readonly topics: TopicPlane;
  private readonly queues: QueuePlane;
  private readonly replies: ReplyPlane;
  private readonly registry: Registry;
  private readonly followers: Followers;
  private readonly timers: NodeJS.Timeout[] = [];
  private everUp = false;
  private closing = false;

  constructor(options: RedisBrokerOptions) {
    this.ctx = new RedisContext(options);
    this.followers = new Followers(this.ctx);
    this.registry = new Registry(this.ctx, () => ({ topics: this.topics.patterns(), queues: this.queues.names() }));
    this.topics = new TopicPlane(this.ctx, { followers: this.followers, knownNodes: () => this.registry.knownIds(), onStall: () => this.stalled() });
    this.queues = new QueuePlane(this.ctx);
    this.replies = new ReplyPlane(this.ctx, this.followers, options);
  }

  async start(handler: BrokerHandler): Promise<void> {
    this.ctx.handler = handler;
    await this.replies.start(handler);
    // Redis is up while both connections are: a publish needs the one, everything else the other.
    for (const conn of [this.ctx.commands, this.ctx.streamWrites]) {
      conn.on('ready', () => void this.onUp());
      conn.on('close', () => this.onDown());
      conn.on('error', () => {}); // reported through 'close' and the outage log
    }
    await this.connectBoth();
    this.ctx.up = true;
    this.everUp = true;
    await this.replies.openInbox();
    await this.registry.heartbeat();
    await this.registry.nodes();
    this.registry.event('join');
    const o = this.ctx.o;
    this.timers.push(setInterval(() => void this.heartbeat(), o.heartbeatMs));
    this.timers.push(setInterval(() => void this.queues.janitor(), o.janitorMs));
    this.timers.push(setInterval(() => void this.topics.trimmer.pass(), o.trimIntervalMs));
    for (const t of this.timers) t.unref();
  }

  /** Both connections ready within the start deadline, or neither left trying. */
  private async connectBoth(): Promise<void> {
    const { commands, streamWrites, o } = this.ctx;
    const retrying = (connection: string) => (reason: string) =>
      this.ctx.log.warn({ connection, reason, startTimeoutMs: o.startTimeoutMs }, 'Redis not reachable yet: retrying until the start deadline');
    try {
      await Promise.all([connectNow(commands, o.startTimeoutMs, retrying('commands')), connectNow(streamWrites, o.startTimeoutMs, retrying('writes'))]);
    } catch (err) {
      commands.disconnect();
      streamWrites.disconnect();
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    if (this.ctx.up) {
      await this.registry.leave().catch(() => {});
      await this.replies.close();
    }
    const wakeKeys = [...(await this.ctx.closeReaders()), ...(await this.followers.close())];
    // Nobody else reads a node's wake streams.
    if (this.ctx.up) await Promise.allSettled(wakeKeys.map((k) => cmd(this.ctx.commands, 'DEL', [k])));
    for (const conn of [this.ctx.commands, this.ctx.streamWrites]) await conn.quit().catch(() => conn.disconnect());
    this.ctx.handler = undefined;
  }

  /** The live nodes of the cluster, from the registry. */
  nodes(): Promise<NodeSnapshot[]> {
    return this.registry.nodes();
  }

  /** Adds to this node's registry snapshot (its drain state, say) and writes it at once. */
  announce(meta: Readonly<Record<string, string | number>>): Promise<void> {
    return this.registry.announce(meta);
  }

  /** A value every node of the cluster agrees on: the first candidate stored wins. */
  sharedValue(name: string, candidate: string): Promise<string> {
    return this.registry.agree(name, candidate);
  }

  setDraining(draining: boolean): boolean {
    this.queues.setDraining(draining);
    return true;
  }

  knownDestinations(vhost: string): Promise<KnownDestinations> {
    return knownDestinations(this.ctx, vhost);
  }

  destinationStats(vhost: string, targets: readonly DestinationTarget[]): Promise<DestinationStats[]> {
    return destinationStats(this.ctx, vhost, targets);
  }

  publish(vhost: string, destination: string, headers: UserHeaders, body: Uint8Array, durable = false): Completion {
    return this.topics.publish(vhost, destination, headers, body, durable);
  }

  publishPressure(vhost: string, destination: string): PublishPressure {
    return this.topics.publishPressure(vhost, destination);
  }

  watch(vhost: string, pattern: string, wildcard = false): Completion {
    this.registry.event('watch', vhost, pattern);
    return this.topics.watch(vhost, pattern, wildcard);
  }

  clusterReachable(): boolean {
    return this.ctx.up;
  }

  unwatch(vhost: string, pattern: string, wildcard = false): void {
    this.registry.event('unwatch', vhost, pattern);
    this.topics.unwatch(vhost, pattern, wildcard);
  }

  replay(vhost: string, destination: string, afterId: string): Promise<Replay> {
    return replay(this.ctx, vhost, destination, afterId);
  }

  enqueue(vhost: string, queue: string, headers: UserHeaders, body: Uint8Array): Completion {
    if (isReplyQueue(queue)) return this.replies.enqueue(vhost, queue, headers, body);
    return this.queues.enqueue(vhost, queue, headers, body);
  }

  consume(vhost: string, queue: string): void {
    if (isReplyQueue(queue)) return this.replies.local.consume(vhost, queue);
    this.registry.event('consume', vhost, queue);
    this.queues.consume(vhost, queue);
  }

  cancel(vhost: string, queue: string): void {
    if (isReplyQueue(queue)) return this.replies.local.cancel(vhost, queue);
    this.registry.event('cancel', vhost, queue);
    this.queues.cancel(vhost, queue);
  }

  take(vhost: string, queue: string): QueuedMessage | undefined {
    return isReplyQueue(queue) ? this.replies.local.take(vhost, queue) : this.queues.take(vhost, queue);
  }

  want(vhost: string, queue: string, credit: number): void {
    if (!isReplyQueue(queue)) this.queues.want(vhost, queue, credit);
  }

  ack(vhost: string, entry: QueuedMessage): void {
    if (isReplyQueue(entry.queue)) this.replies.local.ack(vhost, entry);
    else this.queues.ack(vhost, entry);
  }

  requeue(vhost: string, entry: QueuedMessage): void {
    if (isReplyQueue(entry.queue)) this.replies.local.requeue(vhost, entry);
    else this.queues.requeue(vhost, entry);
  }

  openReplyQueue(vhost: string, queue: string): void {
    this.replies.local.openReplyQueue(vhost, queue);
  }

  closeReplyQueue(vhost: string, queue: string): void {
    this.replies.local.closeReplyQueue(vhost, queue);
  }

  stats(): BrokerStats {
    const local = this.replies.local.stats();
    const q = this.queues.stats();
    return {
      queues: local.queues + q.queues,
      queuedMessages: local.queuedMessages + q.buffered,
      queuedBytes: local.queuedBytes,
      unroutable: this.replies.unroutableCount,
    };
  }

  clusterStats(): ClusterStats {
    return {
      ...this.ctx.counters,
      redisUp: this.ctx.up,
      outboxMessages: this.topics.outbox.length,
      outboxBytes: this.topics.outbox.bytes,
      watchedStreams: this.topics.watchedStreams,
      nodesAlive: this.registry.alive,
    };
  }

  private async heartbeat(): Promise<void> {
    if (!this.ctx.up) return;
    const results = await Promise.allSettled([this.registry.heartbeat(), this.replies.renew(), this.queues.renewLeases(), this.registry.nodes()]);
    if (results.some((r) => r.status === 'rejected' && /timed out/i.test(String(r.reason)))) this.stalled();
  }

  /**
   * Redis stopped answering without closing the connection (a network partition): count it as
   * unreachable now, and reconnect every connection, so that commands fail over to the outbox and
   * local delivery instead of waiting for the path to come back. The command and write connections
   * are reset, not closed: a closed socket's unsent commands would still reach Redis when the path
   * heals, possibly after the outbox resent them, and readers would take the resent ones for repeats.
   */
  private stalled(): void {
    if (!this.ctx.up || this.closing) return;
    this.ctx.log.warn({ timeoutMs: this.ctx.o.timeoutMs }, 'Redis does not answer: treating it as unreachable and reconnecting');
    this.onDown();
    resetConnection(this.ctx.commands);
    resetConnection(this.ctx.streamWrites);
    this.ctx.reconnectReaders();
    this.followers.reconnect();
  }

  private onDown(): void {
    if (!this.ctx.up || this.closing) return;
    this.ctx.up = false;
    this.ctx.log.warn({ outboxMessages: this.ctx.o.outboxMessages }, 'Redis unreachable: local delivery only; cross-node topic messages wait in the outbox, durable sends are refused');
  }

  private async onUp(): Promise<void> {
    if (this.ctx.up || !this.everUp || this.closing || !this.ctx.connected) return;
    this.ctx.up = true;
    this.ctx.log.info({ outboxMessages: this.topics.outbox.length }, 'Redis reachable again: re-registering and resuming');
    try {
      const flushed = this.topics.flushOutbox();
      await this.replies.openInbox();
      await this.registry.heartbeat();
      this.registry.event('rejoin');
      await this.queues.restart();
      await this.topics.restart();
      await flushed;
    } catch (err) {
      this.ctx.log.warn({ err: String(err) }, 'resuming after the Redis outage failed; retried on the next reconnect');
    }
  }
}
