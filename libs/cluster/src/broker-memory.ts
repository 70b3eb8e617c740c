// The embedded single-node broker: topics are delivered synchronously to the local node, queues
// are in-process deques, topic history (for resuming subscriptions) is a bounded deque per
// destination. Nothing outlives the process.
import {
  comparePositions,
  Deque,
  entrySize,
  formatMessageId,
  historyLength,
  Message,
  parseMessageId,
  PositionClock,
  QueueFullError,
  type Broker,
  type BrokerHandler,
  type BrokerInspector,
  type BrokerStats,
  type Completion,
  type DestinationStats,
  type DestinationTarget,
  type HistoryPrefix,
  type KnownDestinations,
  type QueuedMessage,
  type QueueLimits,
  type Replay,
  type StreamPosition,
  type UserHeaders,
} from '@stompede/broker-api';

/** A message kept for resume, with its position: replays and trims compare positions, never parse ids. */
interface Kept {
  readonly message: Message;
  readonly position: StreamPosition;
}

interface History {
  readonly messages: Deque<Kept>;
  readonly length: number;
  /** Position of the newest message trimmed away, if any. */
  trimmed: StreamPosition | undefined;
}

export interface MemoryBrokerOptions extends QueueLimits {
  /** Topic history per destination prefix; none when empty. */
  readonly history?: readonly HistoryPrefix[];
}

interface MemoryQueue {
  readonly entries: Deque<QueuedMessage>;
  bytes: number;
  consumers: number;
  /** Entries taken by a consumer and not yet acked or requeued. */
  taken: number;
  readonly reply: boolean;
}

export class MemoryBroker implements Broker, BrokerInspector {
  readonly kind = 'memory';
  private handler: BrokerHandler | undefined;
  private readonly clock = new PositionClock();
  private readonly queues = new Map<string, MemoryQueue>();
  private unroutable = 0;
  private queuedMessages = 0;
  private queuedBytes = 0;
  private readonly histories = new Map<string, History>();
  private readonly history: readonly HistoryPrefix[];
  private readonly started: StreamPosition;

  constructor(private readonly limits: MemoryBrokerOptions) {
    this.history = limits.history ?? [];
    this.started = { ms: Date.now(), seq: 0 };
  }

  async start(handler: BrokerHandler): Promise<void> {
    this.handler = handler;
  }

  async close(): Promise<void> {
    this.queues.clear();
    this.handler = undefined;
  }

  publish(vhost: string, destination: string, headers: UserHeaders, body: Uint8Array): Completion {
    const position = this.clock.next();
    const message = new Message(destination, formatMessageId(destination, position), headers, body);
    const length = historyLength(this.history, destination);
    if (length > 0) this.remember(queueKey(vhost, destination), length, { message: message.retain(), position });
    this.handler?.onTopicMessage(vhost, message);
  }

  // Every publish reaches the local node, so interest needs no bookkeeping here.
  watch(): void {}
  unwatch(): void {}

  replay(vhost: string, destination: string, afterId: string): Replay {
    const after = parseMessageId(afterId);
    const h = this.histories.get(queueKey(vhost, destination));
    if (after === null || after.destination !== destination) return { messages: h ? [...h.messages].map((k) => k.message) : [], gap: true };
    if (h === undefined) {
      // Nothing kept: fine if nothing was published since `after` in this process's lifetime.
      return { messages: [], gap: historyLength(this.history, destination) === 0 || comparePositions(after.position, this.started) < 0 };
    }
    const messages: Message[] = [];
    for (const k of h.messages) if (comparePositions(k.position, after.position) > 0) messages.push(k.message);
    const gap = h.trimmed !== undefined && comparePositions(h.trimmed, after.position) > 0;
    return { messages, gap: gap || comparePositions(after.position, this.started) < 0 };
  }

  enqueue(vhost: string, queue: string, headers: UserHeaders, body: Uint8Array): Completion {
    const key = queueKey(vhost, queue);
    let q = this.queues.get(key);
    if (q === undefined) {
      if (isReplyQueue(queue)) {
        this.unroutable++;
        return;
      }
      q = { entries: new Deque(), bytes: 0, consumers: 0, taken: 0, reply: false };
      this.queues.set(key, q);
    }
    const size = entrySize(headers, body);
    if (q.entries.length >= this.limits.maxQueueMessages) {
      throw new QueueFullError(queue, 'maxQueueMessages', this.limits.maxQueueMessages);
    }
    if (q.bytes + size > this.limits.maxQueueBytes) {
      throw new QueueFullError(queue, 'maxQueueBytes', this.limits.maxQueueBytes);
    }
    const message = new Message(queue, formatMessageId(queue, this.clock.next()), headers, body).retain();
    this.add(q, { queue, message, deliveries: 0 }, size, false);
    if (q.consumers > 0) this.handler?.onQueueReady(vhost, queue);
  }

  consume(vhost: string, queue: string): void {
    const key = queueKey(vhost, queue);
    let q = this.queues.get(key);
    if (q === undefined) {
      q = { entries: new Deque(), bytes: 0, consumers: 0, taken: 0, reply: isReplyQueue(queue) };
      this.queues.set(key, q);
    }
    q.consumers++;
    if (q.entries.length > 0) this.handler?.onQueueReady(vhost, queue);
  }

  cancel(vhost: string, queue: string): void {
    const key = queueKey(vhost, queue);
    const q = this.queues.get(key);
    if (q === undefined) return;
    q.consumers--;
    this.forgetIfIdle(key, q);
  }

  take(vhost: string, queue: string): QueuedMessage | undefined {
    const q = this.queues.get(queueKey(vhost, queue));
    const entry = q?.entries.shift();
    if (q === undefined || entry === undefined) return undefined;
    const size = entrySize(entry.message.headers, entry.message.body);
    q.bytes -= size;
    q.taken++;
    this.queuedMessages--;
    this.queuedBytes -= size;
    return entry;
  }

  // Taken entries are no longer held by the queue: acking one only counts it as settled.
  ack(vhost: string, entry: QueuedMessage): void {
    const key = queueKey(vhost, entry.queue);
    const q = this.queues.get(key);
    if (q === undefined) return;
    q.taken = Math.max(0, q.taken - 1);
    this.forgetIfIdle(key, q);
  }

  requeue(vhost: string, entry: QueuedMessage): void {
    const key = queueKey(vhost, entry.queue);
    const q = this.queues.get(key);
    if (q === undefined) return; // a reply queue that was closed meanwhile
    q.taken = Math.max(0, q.taken - 1);
    entry.deliveries++;
    // Requeued entries were admitted once already; the bound applies to new entries only, so a
    // consumer that disconnects never loses its unacked messages to a full queue.
    this.add(q, entry, entrySize(entry.message.headers, entry.message.body), true);
    if (q.consumers > 0) this.handler?.onQueueReady(vhost, entry.queue);
  }

  openReplyQueue(vhost: string, queue: string): void {
    const key = queueKey(vhost, queue);
    if (!this.queues.has(key)) this.queues.set(key, { entries: new Deque(), bytes: 0, consumers: 0, taken: 0, reply: true });
  }

  closeReplyQueue(vhost: string, queue: string): void {
    const key = queueKey(vhost, queue);
    const q = this.queues.get(key);
    if (q === undefined) return;
    this.queuedMessages -= q.entries.length;
    this.queuedBytes -= q.bytes;
    this.queues.delete(key);
  }

  stats(): BrokerStats {
    return {
      queues: this.queues.size,
      queuedMessages: this.queuedMessages,
      queuedBytes: this.queuedBytes,
      unroutable: this.unroutable,
    };
  }

  async knownDestinations(vhost: string): Promise<KnownDestinations> {
    const prefix = vhost + '\u0000';
    const topics: string[] = [];
    const queues: string[] = [];
    for (const key of this.histories.keys()) if (key.startsWith(prefix)) topics.push(key.slice(prefix.length));
    for (const [key, q] of this.queues) if (!q.reply && key.startsWith(prefix)) queues.push(key.slice(prefix.length));
    return { topics, queues };
  }

  async destinationStats(vhost: string, targets: readonly DestinationTarget[]): Promise<DestinationStats[]> {
    return targets.map((t) => {
      if (t.kind === 'queue') {
        const q = this.queues.get(queueKey(vhost, t.name));
        return { depth: q?.entries.length ?? 0, pending: q?.taken ?? 0, historyLength: 0 };
      }
      return { depth: 0, pending: 0, historyLength: this.histories.get(queueKey(vhost, t.name))?.messages.length ?? 0 };
    });
  }

  private remember(key: string, length: number, kept: Kept): void {
    let h = this.histories.get(key);
    if (h === undefined) {
      h = { messages: new Deque(), length, trimmed: undefined };
      this.histories.set(key, h);
    }
    h.messages.push(kept);
    while (h.messages.length > h.length) h.trimmed = h.messages.shift()!.position;
  }

  private add(q: MemoryQueue, entry: QueuedMessage, size: number, atHead: boolean): void {
    if (atHead) q.entries.unshift(entry);
    else q.entries.push(entry);
    q.bytes += size;
    this.queuedMessages++;
    this.queuedBytes += size;
  }

  /** Ordinary queues exist only while they hold entries, entries out for delivery, or consumers. */
  private forgetIfIdle(key: string, q: MemoryQueue): void {
    if (!q.reply && q.consumers <= 0 && q.entries.length === 0 && q.taken <= 0) this.queues.delete(key);
  }
}

const REPLY_QUEUE_PREFIX = '/reply-queue/';

function isReplyQueue(queue: string): boolean {
  return queue.startsWith(REPLY_QUEUE_PREFIX);
}

function queueKey(vhost: string, queue: string): string {
  return vhost + '\u0000' + queue;
}
