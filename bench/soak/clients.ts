// The soak's long-lived clients: @stomp/stompjs over WebSocket (ws), each on a home node, moving to
// the next node that is up whenever its connection ends (a drain ERROR, as docs/resume.md tells
// users to). Topic publishers and queue producers number their SENDs and ask a RECEIPT for each;
// topic subscribers resume with x-resume-after; queue consumers ACK (with receipts) or NACK. All of
// it is written down in the ledgers (ledger.ts says what counts as lost).
import { Client, type IMessage } from '@stomp/stompjs';
import '../../services/broker/test/helpers/stompjs.js';
import type { QueueLedger, TopicLedger } from './ledger.js';

export interface Nodes {
  /** WebSocket URL of the k-th node that is up. */
  wsUrl(k: number): string;
  tcpPort(k: number): number;
}

/** ERROR frames other than the drain's, by message. */
export class ErrorTally {
  readonly counts = new Map<string, number>();
  drains = 0;

  add(message: string): void {
    this.counts.set(message, (this.counts.get(message) ?? 0) + 1);
  }
}

export const topicOf = (publisher: number): string => `/topic/soak.fan.${publisher}`;
export const queueOf = (k: number): string => `/queue/soak.work.${k}`;

/** A stompjs client that reconnects to another node that is up whenever its connection ends. */
export class Roaming {
  readonly client: Client;
  connections = 0;

  constructor(nodes: Nodes, home: number, errors: ErrorTally, onConnect: (connection: number) => void) {
    this.client = new Client({
      brokerURL: nodes.wsUrl(home),
      reconnectDelay: 500,
      heartbeatIncoming: 10_000,
      heartbeatOutgoing: 10_000,
      debug: () => {},
      beforeConnect: () => {
        this.client.brokerURL = nodes.wsUrl(home + this.connections);
      },
      onConnect: () => onConnect(++this.connections),
      onStompError: (frame) => {
        if (frame.headers['x-draining'] === 'true') errors.drains++;
        else errors.add(frame.headers['message'] ?? '(no message header)');
      },
    });
  }

  start(): void {
    this.client.activate();
  }

  stop(): Promise<void> {
    return this.client.deactivate();
  }
}

/** What a NumberedSender sends, and whom it tells. */
interface Numbering {
  readonly destination: string;
  /** Receipt ids are this, a dash and the number. */
  readonly receiptPrefix: string;
  /** The header that names the sender (its index) in each message, beside x-soak-seq. */
  readonly senderHeader: string;
  /** A SEND is about to go out (queues count what was written, confirmed or not). */
  readonly written?: (seq: number) => void;
  /** Its RECEIPT came. */
  readonly confirmed: (seq: number) => void;
}

/** Sends numbered messages to one destination at a fixed rate, a RECEIPT asked for each. */
class NumberedSender {
  seq = 0;
  private readonly roaming: Roaming;
  private timer: NodeJS.Timeout | undefined;

  constructor(nodes: Nodes, home: number, readonly index: number, errors: ErrorTally, private readonly body: () => string, private readonly numbering: Numbering) {
    this.roaming = new Roaming(nodes, home, errors, () => {});
  }

  start(ratePerS: number): void {
    this.roaming.start();
    this.timer = setInterval(() => this.tick(), 1000 / ratePerS);
  }

  /** Stops sending; the connection stays for the RECEIPTs still to come. */
  pause(): void {
    clearInterval(this.timer);
  }

  stop(): Promise<void> {
    this.pause();
    return this.roaming.stop();
  }

  private tick(): void {
    const client = this.roaming.client;
    if (!client.connected) return;
    const seq = ++this.seq;
    const { destination, receiptPrefix, senderHeader, written, confirmed } = this.numbering;
    const receipt = `${receiptPrefix}-${seq}`;
    written?.(seq);
    client.watchForReceipt(receipt, () => confirmed(seq));
    try {
      client.publish({ destination, body: this.body(), headers: { receipt, [senderHeader]: String(this.index), 'x-soak-seq': String(seq) } });
    } catch {
      // The connection went between the check and the write: an unconfirmed SEND, as ledger.ts allows.
    }
  }
}

/** Publishes numbered messages to one topic at a fixed rate, a RECEIPT asked for each. */
export class TopicPublisher extends NumberedSender {
  constructor(nodes: Nodes, home: number, index: number, ledger: TopicLedger, errors: ErrorTally, body: () => string) {
    super(nodes, home, index, errors, body, {
      destination: topicOf(index),
      receiptPrefix: `p${index}`,
      senderHeader: 'x-soak-pub',
      confirmed: (seq) => ledger.confirm(index, seq),
    });
  }
}

/** Subscribes to every publisher's topic; after a reconnect resumes each after the last message it got. */
export class TopicSubscriber {
  private readonly roaming: Roaming;
  private readonly lastId = new Map<number, string>();
  private readonly lastSeq = new Map<number, number>();
  readonly ready: Promise<void>;

  constructor(nodes: Nodes, home: number, readonly name: string, private readonly publishers: readonly number[], private readonly ledger: TopicLedger, errors: ErrorTally) {
    let resolveReady!: () => void;
    this.ready = new Promise((r) => (resolveReady = r));
    this.roaming = new Roaming(nodes, home, errors, (connection) => this.subscribe(connection, resolveReady));
  }

  get connections(): number {
    return this.roaming.connections;
  }

  start(): void {
    this.roaming.start();
  }

  stop(): Promise<void> {
    return this.roaming.stop();
  }

  private subscribe(connection: number, ready: () => void): void {
    for (const p of this.publishers) {
      const receipt = `${this.name}-${connection}-${p}`;
      const last = this.lastId.get(p);
      this.roaming.client.watchForReceipt(receipt, ready);
      this.roaming.client.subscribe(topicOf(p), (m) => this.onMessage(p, m), { id: `t${p}`, receipt, ...(last !== undefined && { 'x-resume-after': last }) });
    }
  }

  private onMessage(publisher: number, m: IMessage): void {
    const seq = Number(m.headers['x-soak-seq']);
    if (m.headers['x-resume-gap'] === 'true') this.ledger.told(this.name, publisher, (this.lastSeq.get(publisher) ?? 0) + 1, seq - 1);
    this.ledger.receive(this.name, publisher, seq);
    this.lastId.set(publisher, m.headers['message-id']!);
    this.lastSeq.set(publisher, Math.max(seq, this.lastSeq.get(publisher) ?? 0));
  }
}

/** Sends numbered messages to one queue at a fixed rate, a RECEIPT asked for each. */
export class QueueProducer extends NumberedSender {
  constructor(nodes: Nodes, home: number, index: number, queue: string, ledger: QueueLedger, errors: ErrorTally, body: () => string) {
    super(nodes, home, index, errors, body, {
      destination: queue,
      receiptPrefix: `q${index}`,
      senderHeader: 'x-soak-prod',
      written: (seq) => ledger.written(index, seq),
      confirmed: (seq) => ledger.confirm(index, seq),
    });
  }
}

/** client-individual consumer: NACKs a share of first deliveries (they come back), ACKs the rest with receipts. */
export class QueueConsumer {
  private readonly roaming: Roaming;
  private acks = 0;
  readonly ready: Promise<void>;

  constructor(
    nodes: Nodes,
    home: number,
    readonly name: string,
    queue: string,
    private readonly ledger: QueueLedger,
    errors: ErrorTally,
    private readonly settings: { readonly prefetch: number; readonly nackShare: number; readonly maxHoldMs: number; readonly random: () => number },
  ) {
    let resolveReady!: () => void;
    this.ready = new Promise((r) => (resolveReady = r));
    this.roaming = new Roaming(nodes, home, errors, (connection) => {
      const receipt = `${name}-${connection}`;
      this.roaming.client.watchForReceipt(receipt, resolveReady);
      this.roaming.client.subscribe(queue, (m) => this.onMessage(connection, m), { id: 'q', ack: 'client-individual', 'prefetch-count': String(settings.prefetch), receipt });
    });
  }

  start(): void {
    this.roaming.start();
  }

  stop(): Promise<void> {
    return this.roaming.stop();
  }

  private onMessage(connection: number, m: IMessage): void {
    const producer = Number(m.headers['x-soak-prod']);
    const seq = Number(m.headers['x-soak-seq']);
    const redelivered = m.headers['redelivered'] === 'true';
    this.ledger.deliver(producer, seq, redelivered);
    if (!redelivered && this.settings.random() < this.settings.nackShare) {
      m.nack();
      this.ledger.nack();
      return;
    }
    setTimeout(() => {
      // An ack id belongs to the connection that delivered the message: never send it on a newer one.
      if (this.roaming.connections !== connection || !this.roaming.client.connected) return;
      const receipt = `${this.name}-a${++this.acks}`;
      this.roaming.client.watchForReceipt(receipt, () => this.ledger.ack(producer, seq));
      m.ack({ receipt });
    }, Math.floor(this.settings.random() * this.settings.maxHoldMs));
  }
}
