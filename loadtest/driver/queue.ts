// Queue traffic for the driver: producers are Publishers (publisher.ts) pointed at a queue (numbered SENDs
// with receipts), consumers ack each message (client-individual, prefetch) with a receipt. A
// message counts as sent when its RECEIPT arrived and as acked when its ACK's RECEIPT did:
//   queue_lost        sent, never acked by anyone;
//   queue_duplicated  acks confirmed beyond one per message, plus deliveries (not marked
//                     redelivered) of a message this consumer had already acked;
//   queue_share_ratio each consumer's acks over an even split of the sent messages;
//   queue_unconfirmed_acked  acked although its SEND's RECEIPT never came (the broker took it, the
//                     producer's connection closed first): neither loss nor duplicate.
import type { Client, IMessage } from '@stomp/stompjs';
import { HEADER } from '../k6/lib/scenario-core.js';
import type { Metrics } from './metrics.js';
import { Roaming, receiptId } from './roaming.js';
import type { PublisherReport } from './publisher.js';
import { nowMs, type Stoppable } from './topic.js';

export interface ConsumerReport {
  /** "<producer>:<seq>" of every confirmed ACK, repeats included. */
  readonly acks: readonly string[];
  readonly duplicateDeliveries: number;
}

export class QueueConsumer implements Stoppable {
  private readonly roaming: Roaming;
  private readonly acks: string[] = [];
  private readonly acked = new Set<string>();
  private duplicateDeliveries = 0;

  constructor(
    urls: () => readonly string[],
    home: number,
    private readonly destination: string,
    private readonly prefetch: number,
    reconnectDelayMs: number,
    private readonly metrics: Metrics,
    reconnectLog?: number[],
  ) {
    this.roaming = new Roaming({ urls, home, reconnectDelayMs, metrics, onConnect: (client) => this.subscribe(client), ...(reconnectLog === undefined ? {} : { reconnectLog }) });
  }

  private ready: (() => void) | undefined;

  /** Connects and subscribes; resolves once the subscription is in place. */
  start(): Promise<void> {
    return new Promise((resolve) => {
      this.ready = resolve;
      this.roaming.start();
    });
  }

  private subscribe(client: Client): void {
    const connection = this.roaming.connections;
    const receipt = receiptId('work');
    client.watchForReceipt(receipt, () => {
      this.roaming.resumed();
      this.ready?.();
    });
    client.subscribe(this.destination, (m: IMessage) => {
      const key = `${m.headers[HEADER.publisher]}:${m.headers[HEADER.seq]}`;
      if (this.acked.has(key) && m.headers['redelivered'] !== 'true') this.duplicateDeliveries++;
      if (!this.acked.has(key)) this.metrics.add('queue_latency_ms', nowMs() - Number(m.headers[HEADER.sentMs]));
      // An ack id belongs to the connection that delivered the message.
      if (this.roaming.connections !== connection || !client.connected) return;
      const ackReceipt = receiptId('ack');
      client.watchForReceipt(ackReceipt, () => {
        this.acks.push(key);
        this.acked.add(key);
      });
      m.ack({ receipt: ackReceipt });
    }, { id: 'work', ack: 'client-individual', 'prefetch-count': String(this.prefetch), receipt });
  }

  report(): ConsumerReport {
    return { acks: this.acks, duplicateDeliveries: this.duplicateDeliveries };
  }

  stop(): Promise<void> {
    return this.roaming.stop();
  }
}

/** Confirmed ACKs seen so far across reports, distinct. */
export function distinctAcks(consumers: readonly ConsumerReport[]): Set<string> {
  return new Set(consumers.flatMap((c) => c.acks));
}

/** Adds queue_acked, queue_lost, queue_duplicated and queue_share_ratio (queue_sent comes from the producers). */
export function queueVerdict(producers: readonly PublisherReport[], consumers: readonly ConsumerReport[], metrics: Metrics): void {
  const acked = distinctAcks(consumers);
  let sent = 0;
  let lost = 0;
  for (const p of producers) {
    for (const [from, to] of p.confirmed) {
      for (let s = from; s <= to; s++) {
        sent++;
        if (!acked.has(`${p.id}:${s}`)) lost++;
      }
    }
  }
  metrics.add('queue_unconfirmed_acked', acked.size - (sent - lost));
  const confirmations = consumers.reduce((n, c) => n + c.acks.length, 0);
  metrics.add('queue_acked', acked.size);
  metrics.add('queue_lost', lost);
  metrics.add('queue_duplicated', confirmations - acked.size + consumers.reduce((n, c) => n + c.duplicateDeliveries, 0));
  for (const c of consumers) metrics.add('queue_share_ratio', consumers.length === 0 || sent === 0 ? 0 : new Set(c.acks).size / (sent / consumers.length));
}
