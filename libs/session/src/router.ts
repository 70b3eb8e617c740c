// Node-local routing: which local subscriptions a message reaches, and the bookkeeping that ties
// subscriptions to the broker (topic interest, queue consumption). The broker calls in here.
import { BrokerUnavailableError, QueueFullError, type Broker, type BrokerHandler, type Completion, type Message, type PublishPressure, type QueuedMessage, type UserHeaders } from '@stompede/broker-api';
import type { SessionConfig } from './config.js';
import { REPLY_QUEUE_PREFIX, resolveDestination, type Destination } from './destinations.js';
import { Group } from './group.js';
import type { Logger } from './logger.js';
import { textBody } from './message-frame.js';
import type { Metrics } from './metrics.js';
import type { DeadLetterReason, RouterPort } from './host.js';
import type { Outbox } from './outbox.js';
import { QueueBinding } from './queue-binding.js';
import { PublishCounts } from './publish-counts.js';
import { admitLive } from './resume-delivery.js';
import { withMember, withoutMember } from './small-set.js';
import type { Subscription } from './subscription.js';
import { ScopedTopicNode, TopicIndex, type ReadScope, type TopicNode } from './topic-index.js';

class VhostState {
  readonly topics: TopicIndex<Subscription>;
  readonly queues = new Map<string, QueueBinding>();

  constructor(metrics: Metrics) {
    this.topics = new TopicIndex<Subscription>(() => metrics.wildcardExclusions++);
  }
}

export type { DeadLetterReason };

/** A destination or pattern with local subscribers or consumers (admin API). */
export interface LocalDestination {
  readonly name: string;
  readonly kind: 'topic' | 'queue';
  /** A wildcard subscription pattern. */
  readonly pattern: boolean;
  readonly subscribers: number;
}

export class Router implements BrokerHandler, RouterPort {
  private readonly vhosts = new Map<string, VhostState>();
  private groupSeq = 0;
  private readonly deadLetter: Destination | undefined;
  /** SEND frames per destination, for publish rates (the hub's tick closes its windows). */
  readonly publishCounts = new PublishCounts();

  constructor(
    private readonly config: SessionConfig,
    readonly broker: Broker,
    private readonly outbox: Outbox,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** Publish pressure went away (the hub releases held publishers). */
    private readonly relieved: () => void = () => {},
  ) {
    for (const v of config.vhosts) this.vhosts.set(v, new VhostState(metrics));
    if (config.deadLetterDestination !== '') {
      const d = resolveDestination(config.deadLetterDestination, 'send', config.destinationPrefixes);
      if ('error' in d) throw new Error(`deadLetterDestination: ${d.detail}`);
      this.deadLetter = d;
    }
  }

  // ---- broker callbacks

  onTopicMessage(vhost: string, message: Message): void {
    const v = this.vhosts.get(vhost);
    if (v === undefined) return;
    const exact = v.topics.exactNode(message.destination);
    const wild = v.topics.wildcardNodes(message.destination, this.prefixLength(message.destination));
    if (exact === undefined && wild.length === 0) return;
    const binary = !textBody(message);
    if (exact !== undefined) this.deliverToNode(exact, message, binary);
    for (const node of wild) this.deliverToNode(node, message, binary);
  }

  onQueueReady(vhost: string, queue: string): void {
    this.vhosts.get(vhost)?.queues.get(queue)?.schedule();
  }

  interested(vhost: string, destination: string): boolean {
    const v = this.vhosts.get(vhost);
    if (v === undefined) return false;
    return v.topics.exactNode(destination) !== undefined || v.topics.wildcardNodes(destination, this.prefixLength(destination)).length > 0;
  }

  onDeadLetter(vhost: string, entry: QueuedMessage): void {
    this.deadLetterMessage(vhost, entry.message, 'delivery-limit');
  }

  onPressureRelieved(): void {
    this.relieved();
  }

  pressure(vhost: string, destination: Destination): PublishPressure {
    if (destination.kind !== 'topic') return 'none';
    return this.broker.publishPressure?.(vhost, destination.name) ?? 'none';
  }

  // ---- publishing

  /** A client's SEND. `durable`: the sender waits for the message to be stored (it asked for a RECEIPT). */
  publish(vhost: string, destination: Destination, headers: UserHeaders, body: Uint8Array, durable = false): Completion {
    this.metrics.messagesPublished++;
    this.publishCounts.count(vhost, destination.name);
    if (destination.kind === 'topic') return this.broker.publish(vhost, destination.name, headers, body, durable);
    this.metrics.messagesEnqueued++;
    return this.broker.enqueue(vhost, destination.name, headers, body);
  }

  /** A copy the broker itself sends (dead letters): not a client's SEND, so not counted as one. */
  private forward(vhost: string, destination: Destination, headers: UserHeaders, body: Uint8Array): Completion {
    if (destination.kind === 'topic') return this.broker.publish(vhost, destination.name, headers, body);
    return this.broker.enqueue(vhost, destination.name, headers, body);
  }

  // ---- subscriptions

  /**
   * Attaches `sub`. For a topic, completes when the broker's watch of its destination or pattern
   * has (what a RECEIPT for SUBSCRIBE promises), however many subscriptions share it. `scope`: what
   * a wildcard subscription's principal may read; the pattern is then bound only to destinations
   * the scope allows (topic-index.ts).
   */
  subscribe(vhost: string, sub: Subscription, scope?: ReadScope): Completion {
    const v = this.vhost(vhost);
    const d = sub.destination;
    if (d.kind !== 'topic') {
      let binding = v.queues.get(d.name);
      if (binding === undefined) {
        binding = new QueueBinding(vhost, d.name, this.broker, this.outbox);
        v.queues.set(d.name, binding);
        this.broker.consume(vhost, d.name);
      }
      binding.add(sub);
      return;
    }
    const { node: root, created } = v.topics.ensure(d.name, d.prefixLength, d.wildcard);
    if (created) this.watch(vhost, root);
    const node = scope !== undefined && d.wildcard ? v.topics.scopedNode(root, scope) : root;
    // The node stands for the destination from now on: its name is then kept once, not per subscriber.
    sub.destination = node;
    const watched = !created && this.broker.clusterReachable?.() === false ? unreachable() : root.watching;
    if (sub.acked || sub.resume !== undefined) {
      node.single = withMember(node.single, sub);
      return watched;
    }
    const version = sub.session.version;
    let group = node.group(sub.id, version);
    if (group === undefined) {
      group = new Group(++this.groupSeq, sub.id, version, this.outbox, this.config.maxPendingOutboundBytes / 8);
      node.addGroup(group);
    }
    sub.group = group;
    // Equal by construction; the group's copy lets thousands of members keep one string.
    sub.id = group.id;
    sub.joinedAfter = group.lastMessageId;
    sub.session.joinGroup(group);
    return watched;
  }

  /** Detaches `sub`; the caller has already settled its unacked deliveries. */
  unsubscribe(vhost: string, sub: Subscription): void {
    const v = this.vhost(vhost);
    const queue = sub.queue;
    if (queue !== undefined) {
      queue.remove(sub);
      sub.queue = undefined;
      if (queue.consumers.length === 0) {
        v.queues.delete(queue.name);
        this.broker.cancel(vhost, queue.name);
      } else {
        queue.schedule();
      }
      return;
    }
    const node = sub.topicNode;
    const group = sub.group;
    if (group !== undefined) {
      sub.group = undefined;
      sub.session.leaveGroup(group);
      if (group.empty) node!.removeGroup(group);
    } else if (node?.hasSingle(sub)) {
      node.single = withoutMember(node.single, sub);
    } else {
      return; // not attached
    }
    this.forgetIfEmpty(vhost, v, node!);
  }

  ackEntry(vhost: string, entry: QueuedMessage): void {
    this.broker.ack(vhost, entry);
  }

  requeueEntry(vhost: string, entry: QueuedMessage): void {
    this.metrics.messagesRedelivered++;
    this.broker.requeue(vhost, entry);
  }

  openReplyQueue(vhost: string, queue: string): void {
    this.broker.openReplyQueue(vhost, queue);
  }

  closeReplyQueue(vhost: string, queue: string): void {
    this.broker.closeReplyQueue(vhost, queue);
  }

  /**
   * Sends a message nobody will process to the dead-letter destination, if one is configured
   * (otherwise it is dropped). Dead-lettered copies carry why and where they came from.
   */
  deadLetterMessage(vhost: string, message: Message, reason: DeadLetterReason): void {
    const target = this.deadLetter;
    if (target === undefined || target.name === message.destination) {
      this.metrics.messagesDiscarded++;
      this.logger.debug({ destination: message.destination, messageId: message.id, reason }, 'message discarded');
      return;
    }
    const names = [...message.headers.names, 'x-death-reason', 'x-original-destination', 'x-original-message-id'];
    const values = [...message.headers.values, reason, message.destination, message.id];
    try {
      const done = this.forward(vhost, target, { names, values }, message.body);
      if (done instanceof Promise) done.catch((err: unknown) => this.deadLetterFailed(message, err));
      this.metrics.messagesDeadLettered++;
    } catch (err) {
      this.deadLetterFailed(message, err);
    }
  }

  /** Schedules a dispatch for every local queue (their consumers may take entries again). */
  resumeQueues(): void {
    for (const v of this.vhosts.values()) for (const q of v.queues.values()) q.schedule();
  }

  /** Destinations and patterns of `vhost` with local subscribers or consumers, reply queues left out. */
  localDestinations(vhost: string): LocalDestination[] {
    const v = this.vhosts.get(vhost);
    if (v === undefined) return [];
    const out: LocalDestination[] = [];
    for (const node of v.topics.nodes()) {
      out.push({ name: node.pattern, kind: 'topic', pattern: node.wildcard, subscribers: v.topics.subscribers(node) });
    }
    for (const q of v.queues.values()) {
      if (!q.name.startsWith(REPLY_QUEUE_PREFIX)) out.push({ name: q.name, kind: 'queue', pattern: false, subscribers: q.consumers.length });
    }
    return out;
  }

  /** Numbers for introspection and tests. */
  stats(vhost: string): { topics: number; queues: number } {
    const v = this.vhosts.get(vhost);
    return { topics: v?.topics.size ?? 0, queues: v?.queues.size ?? 0 };
  }

  private deadLetterFailed(message: Message, err: unknown): void {
    const why = err instanceof QueueFullError ? err.message : String(err);
    this.logger.warn({ destination: message.destination, messageId: message.id, err: why }, 'dead-lettering failed; message dropped');
  }

  private deliverToNode(node: TopicNode<Subscription>, message: Message, binary: boolean): void {
    const groups = node.groups;
    if (groups instanceof Map) for (const group of groups.values()) this.deliverToGroup(group, message, binary);
    else if (groups !== undefined) this.deliverToGroup(groups, message, binary);
    const single = node.single;
    if (single instanceof Set) for (const sub of single) this.deliverToSingle(sub, message);
    else if (single !== undefined) this.deliverToSingle(single, message);
  }

  private deliverToGroup(group: Group, message: Message, binary: boolean): void {
    // Native members are counted here; members written per socket count themselves, since only
    // they know whether a slow-consumer policy dropped the frame.
    this.metrics.messagesDelivered += group.nativeSize;
    group.deliver(message, binary);
  }

  private deliverToSingle(sub: Subscription, message: Message): void {
    if (sub.resume === undefined || admitLive(sub, sub.resume, message, this.config.maxPendingOutboundBytes)) sub.session.deliverTopic(sub, message);
  }

  private watch(vhost: string, node: TopicNode<Subscription>): void {
    const done = this.broker.watch(vhost, node.pattern, node.wildcard);
    if (!(done instanceof Promise)) return;
    const watching: Promise<void> = done.then(
      () => {
        if (node.watching === watching) node.watching = undefined;
      },
      (err: unknown) => {
        // Unwatched meanwhile (every subscriber left): nobody relies on this watch any more.
        if (node.watching !== watching) return;
        // The subscribers waiting now get the failure; later ones are not refused for it (the
        // broker retries the watch itself, e.g. when Redis returns).
        node.watching = undefined;
        throw err;
      },
    );
    // Every subscriber's session handles a rejection (completions.ts); this only keeps one that
    // reaches no subscriber (they all closed) from counting as unhandled.
    watching.catch(() => {});
    node.watching = watching;
  }

  private forgetIfEmpty(vhost: string, v: VhostState, node: TopicNode<Subscription>): void {
    if (!node.empty) return;
    // A scoped node goes alone; its pattern's root (the broker's watch) stays while others use it.
    const root = node instanceof ScopedTopicNode ? node.root : node;
    if (root !== node) v.topics.removeScoped(node as ScopedTopicNode<Subscription>);
    if (!root.empty || v.topics.hasScoped(root)) return;
    v.topics.remove(root);
    // A watch still completing is given up with the node (see watch()).
    root.watching = undefined;
    this.broker.unwatch(vhost, root.pattern, root.wildcard);
  }

  private vhost(name: string): VhostState {
    const v = this.vhosts.get(name);
    if (v === undefined) throw new Error(`unknown vhost ${name}`);
    return v;
  }

  private prefixLength(destination: string): number {
    for (const p of this.config.destinationPrefixes) if (destination.startsWith(p.prefix)) return p.prefix.length;
    return 0;
  }
}

/** What a SUBSCRIBE completes with while the cluster is unreachable (Broker.clusterReachable). */
function unreachable(): Promise<void> {
  const failed = Promise.reject(new BrokerUnavailableError('Redis is unreachable: the subscription is live on this node, cross-node delivery starts when it returns.'));
  failed.catch(() => {}); // the session handles it only when the SUBSCRIBE asked for a receipt
  return failed;
}
