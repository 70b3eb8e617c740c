// The local consumers of one queue. Entries are taken from the broker only when some consumer can
// accept one (prefetch window not full, socket not congested), and handed out round-robin, so a
// queue never pushes more at a consumer than its credit allows.
import type { Broker, QueuedMessage } from '@stompede/broker-api';
import type { Outbox } from './outbox.js';

/** A consumer as its queue sees it (the router's Subscription is one). */
export interface QueueConsumer {
  /** Client-acked: holds entries until ACK, up to `window`. */
  readonly acked: boolean;
  readonly window: number;
  readonly unacked: { readonly size: number };
  queue: QueueBinding | undefined;
  readonly session: {
    canTake(consumer: QueueConsumer): boolean;
    deliverQueued(consumer: QueueConsumer, entry: QueuedMessage): void;
  };
}

/**
 * Credit an auto-ack consumer stands for when the broker asks how many entries to fetch: it acks on
 * delivery, so this only bounds how far one node reads ahead of its sockets.
 */
const AUTO_ACK_CREDIT = 100;

export class QueueBinding {
  readonly consumers: QueueConsumer[] = [];
  private next = 0;
  private scheduled = false;
  private readonly dispatchBound = () => {
    this.scheduled = false;
    this.dispatch();
  };

  constructor(
    readonly vhost: string,
    readonly name: string,
    private readonly broker: Broker,
    private readonly outbox: Outbox,
  ) {}

  add(sub: QueueConsumer): void {
    this.consumers.push(sub);
    sub.queue = this;
    this.schedule();
  }

  remove(sub: QueueConsumer): void {
    const i = this.consumers.indexOf(sub);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    if (this.next > i) this.next--;
    if (this.next >= this.consumers.length) this.next = 0;
  }

  /** Dispatches at the end of this turn; called whenever entries or credit may have appeared. */
  schedule(): void {
    if (this.scheduled || this.consumers.length === 0) return;
    this.scheduled = true;
    this.outbox.addTask(this.dispatchBound);
  }

  /** Entries the consumers that can take one now could take in all (a clustered broker fetches that many). */
  private credit(): number {
    let credit = 0;
    for (const sub of this.consumers) {
      if (!sub.session.canTake(sub)) continue;
      credit += sub.acked ? sub.window - sub.unacked.size : AUTO_ACK_CREDIT;
    }
    return credit;
  }

  dispatch(): void {
    let refused = 0;
    while (refused < this.consumers.length) {
      const sub = this.consumers[this.next]!;
      const following = (this.next + 1) % this.consumers.length;
      if (!sub.session.canTake(sub)) {
        this.next = following;
        refused++;
        continue;
      }
      const entry = this.broker.take(this.vhost, this.name);
      // Queue empty: this consumer keeps its turn (else it would be skipped whenever the queue runs dry).
      if (entry === undefined) {
        this.broker.want?.(this.vhost, this.name, this.credit());
        return;
      }
      this.next = following;
      refused = 0;
      sub.session.deliverQueued(sub, entry);
    }
    // Every consumer is out of credit: the broker should stop fetching for them.
    this.broker.want?.(this.vhost, this.name, 0);
  }
}
