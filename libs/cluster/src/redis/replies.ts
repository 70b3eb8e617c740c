// Reply queues (`/reply-queue/<nodeId>/<session>/<name>`, made for `reply-to:/temp-queue/...`) live
// on the node of the session that owns them, in memory: they die with the session anyway. A reply
// sent on another node goes to the owner's inbox stream, which only the owner reads. An inbox
// expires unless its node keeps renewing it, so a reply to a dead node's queue finds no inbox
// (XADD NOMKSTREAM) and is counted as unroutable instead of piling up.
import {
  BrokerUnavailableError,
  type BrokerHandler,
  type Completion,
  type QueueLimits,
  type UserHeaders,
} from '@stompede/broker-api';
import { MemoryBroker } from '../broker-memory.js';
import { decodeEntry, encodeEntry, readEntry, type StreamEntry } from './codec.js';
import { cmd, cmdBuffer } from './connection.js';
import type { RedisContext } from './context.js';
import { DATA_FIELD, QUEUE_FIELD, VHOST_FIELD } from './fields.js';
import type { Followers } from './follow.js';
import type { ReadTarget } from './reader.js';

export const REPLY_QUEUE_PREFIX = '/reply-queue/';
const INBOX_MAXLEN = 10_000;

export function isReplyQueue(queue: string): boolean {
  return queue.startsWith(REPLY_QUEUE_PREFIX);
}

/** The node id in a reply queue's name. */
function ownerOf(queue: string): string {
  const end = queue.indexOf('/', REPLY_QUEUE_PREFIX.length);
  return end < 0 ? '' : queue.slice(REPLY_QUEUE_PREFIX.length, end);
}

export class ReplyPlane {
  readonly local: MemoryBroker;
  private readonly inbox: string;
  private unroutable = 0;
  private target: ReadTarget | undefined;

  constructor(
    private readonly ctx: RedisContext,
    private readonly followers: Followers,
    limits: QueueLimits,
  ) {
    this.local = new MemoryBroker(limits);
    this.inbox = ctx.keys.inbox(ctx.o.nodeId);
  }

  get unroutableCount(): number {
    return this.unroutable + this.local.stats().unroutable;
  }

  async start(handler: BrokerHandler): Promise<void> {
    await this.local.start({ onTopicMessage() {}, onQueueReady: (vhost, queue) => handler.onQueueReady(vhost, queue) });
  }

  /** Creates (or re-creates, after a Redis restart) the inbox and reads it from its current end. */
  async openInbox(): Promise<void> {
    const added = (await cmdBuffer(this.ctx.commands, 'XADD', [this.inbox, 'MAXLEN', '~', INBOX_MAXLEN, '*', 'hello', this.ctx.o.nodeId])) as Buffer;
    await this.renew();
    if (this.target !== undefined) return;
    const target: ReadTarget = { lastId: added.toString(), onEntries: (entries) => this.onInbox(entries) };
    this.target = target;
    await this.followers.follow(this.inbox, target.lastId, target, () => this.target === target);
  }

  renew(): Promise<unknown> {
    return cmd(this.ctx.commands, 'PEXPIRE', [this.inbox, this.ctx.o.nodeTtlMs * 3]);
  }

  async close(): Promise<void> {
    // Stop reading first: a read that fails once the inbox is gone would re-create it (follow.ts).
    this.target = undefined;
    this.followers.unfollow(this.inbox);
    await cmd(this.ctx.commands, 'DEL', [this.inbox]).catch(() => {});
    await this.local.close();
  }

  enqueue(vhost: string, queue: string, headers: UserHeaders, body: Uint8Array): Completion {
    const owner = ownerOf(queue);
    if (owner === this.ctx.o.nodeId) return this.local.enqueue(vhost, queue, headers, body);
    if (!this.ctx.up) return Promise.reject(new BrokerUnavailableError('Redis is unreachable, so the reply cannot reach its node; try again.'));
    const inbox = this.ctx.keys.inbox(owner);
    return cmdBuffer(this.ctx.commands, 'XADD', [inbox, 'NOMKSTREAM', 'MAXLEN', '~', INBOX_MAXLEN, '*', QUEUE_FIELD, queue, VHOST_FIELD, vhost, DATA_FIELD, encodeEntry(headers, body)])
      .then((id) => {
        if (id === null) this.unroutable++;
      }, (err: unknown) => {
        throw new BrokerUnavailableError(`the reply could not be stored in Redis: ${(err as Error).message}`);
      });
  }

  private onInbox(entries: StreamEntry[]): void {
    for (const raw of entries) {
      const { id, data, queue: queueField, vhost: vhostField } = readEntry(raw);
      const queue = queueField?.toString();
      const vhost = vhostField?.toString();
      if (queue === undefined || vhost === undefined || data === undefined) continue;
      try {
        const { headers, body } = decodeEntry(data);
        void this.local.enqueue(vhost, queue, headers, body);
      } catch (err) {
        this.ctx.log.warn({ queue, id, err: String(err) }, 'reply dropped');
      }
    }
  }
}
