// The embedded single-node broker: topics are delivered synchronously to the local node, queues
// are in-process deques. Nothing outlives the process.
import {
  QueueFullError,
  type Broker,
  type BrokerHandler,
  type BrokerStats,
  type Completion,
  type QueueLimits,
} from './broker.js';
import { Deque } from './deque.js';
import { Message, type QueuedMessage, type UserHeaders } from './message.js';
import { formatMessageId, PositionClock } from './message-id.js';

interface MemoryQueue {
  readonly entries: Deque<QueuedMessage>;
  bytes: number;
  consumers: number;
  readonly reply: boolean;
}

export class MemoryBroker implements Broker {
  readonly kind = 'memory';
  private handler: BrokerHandler | undefined;
  private readonly clock = new PositionClock();
  private readonly queues = new Map<string, MemoryQueue>();
  private unroutable = 0;
  private queuedMessages = 0;
  private queuedBytes = 0;

  constructor(private readonly limits: QueueLimits) {}

  async start(handler: BrokerHandler): Promise<void> {
    this.handler = handler;
  }

  async close(): Promise<void> {
    this.queues.clear();
    this.handler = undefined;
  }

  publish(vhost: string, destination: string, headers: UserHeaders, body: Uint8Array): Completion {
    const message = new Message(destination, formatMessageId(destination, this.clock.next()), headers, body);
    this.handler?.onTopicMessage(vhost, message);
  }

  // Every publish reaches the local node, so interest needs no bookkeeping here.
  watch(): void {}
  unwatch(): void {}

  enqueue(vhost: string, queue: string, headers: UserHeaders, body: Uint8Array): Completion {
    const key = queueKey(vhost, queue);
    let q = this.queues.get(key);
    if (q === undefined) {
      if (isReplyQueue(queue)) {
        this.unroutable++;
        return;
      }
      q = { entries: new Deque(), bytes: 0, consumers: 0, reply: false };
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
      q = { entries: new Deque(), bytes: 0, consumers: 0, reply: isReplyQueue(queue) };
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
    this.queuedMessages--;
    this.queuedBytes -= size;
    return entry;
  }

  // Taken entries are no longer held by the queue: acking them has nothing left to release.
  ack(): void {}

  requeue(vhost: string, entry: QueuedMessage): void {
    const key = queueKey(vhost, entry.queue);
    const q = this.queues.get(key);
    if (q === undefined) return; // a reply queue that was closed meanwhile
    entry.deliveries++;
    // Requeued entries were admitted once already; the bound applies to new entries only, so a
    // consumer that disconnects never loses its unacked messages to a full queue.
    this.add(q, entry, entrySize(entry.message.headers, entry.message.body), true);
    if (q.consumers > 0) this.handler?.onQueueReady(vhost, entry.queue);
  }

  openReplyQueue(vhost: string, queue: string): void {
    const key = queueKey(vhost, queue);
    if (!this.queues.has(key)) this.queues.set(key, { entries: new Deque(), bytes: 0, consumers: 0, reply: true });
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

  private add(q: MemoryQueue, entry: QueuedMessage, size: number, atHead: boolean): void {
    if (atHead) q.entries.unshift(entry);
    else q.entries.push(entry);
    q.bytes += size;
    this.queuedMessages++;
    this.queuedBytes += size;
  }

  /** Ordinary queues exist only while they hold entries or have consumers. */
  private forgetIfIdle(key: string, q: MemoryQueue): void {
    if (!q.reply && q.consumers <= 0 && q.entries.length === 0) this.queues.delete(key);
  }
}

const REPLY_QUEUE_PREFIX = '/reply-queue/';

function isReplyQueue(queue: string): boolean {
  return queue.startsWith(REPLY_QUEUE_PREFIX);
}

function queueKey(vhost: string, queue: string): string {
  return vhost + '\u0000' + queue;
}

function entrySize(headers: UserHeaders, body: Uint8Array): number {
  let size = body.length;
  for (let i = 0; i < headers.names.length; i++) size += headers.names[i]!.length + headers.values[i]!.length + 2;
  return size;
}
