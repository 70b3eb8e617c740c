// stompjs clients that behave the way docs/operations.md tells users to: when their node drains
// (ERROR with x-draining), they reconnect to another node; a topic subscriber resumes after the
// last message it handled (x-resume-after); a queue worker takes up its subscription again. They
// record what they saw, for lossless-drain assertions.
import { Client, type IFrame, type IMessage } from '@stomp/stompjs';
import './stompjs.js';

/** Base of the stompjs clients: a rotation of node URLs, moved along after every drain ERROR. */
abstract class Roaming {
  readonly client: Client;
  /** Connections made so far (1 = never moved). */
  connections = 0;
  /** When the drain ERROR arrived (Date.now()), and its headers. */
  drainedAt: number | undefined;
  drainHeaders: Record<string, string> | undefined;
  /** The node connected to (or next connected to). */
  private url: string;

  /** Starts on `urls[home]`; a drain moves it to `urls[away]` (default: the next one). */
  constructor(private readonly urls: readonly string[], home: number, private readonly away = home + 1) {
    this.url = urls[home]!;
    this.client = new Client({
      brokerURL: this.url,
      reconnectDelay: 200,
      debug: () => {},
      beforeConnect: () => {
        this.client.brokerURL = this.url;
      },
      onConnect: () => {
        this.connections++;
        this.subscribe();
      },
      onStompError: (frame: IFrame) => {
        if (frame.headers['x-draining'] !== 'true') return;
        this.drainedAt = Date.now();
        this.drainHeaders = { ...frame.headers };
        this.url = this.urls[this.away % this.urls.length]!;
      },
    });
  }

  /** Connects; resolves once the first subscription is in place. */
  abstract start(): Promise<void>;

  protected abstract subscribe(): void;

  stop(): Promise<void> {
    return this.client.deactivate();
  }
}

/** A topic subscriber that resumes after the last message it handled whenever it reconnects. */
export class ResumingSubscriber extends Roaming {
  readonly seqs: number[] = [];
  lastId: string | undefined;
  private ready: (() => void) | undefined;

  constructor(urls: readonly string[], home: number, away: number, private readonly destination: string) {
    super(urls, home, away);
  }

  start(): Promise<void> {
    return new Promise((resolve) => {
      this.ready = resolve;
      this.client.activate();
    });
  }

  protected subscribe(): void {
    const receipt = `resume-${this.connections}-${Math.random()}`;
    const headers: Record<string, string> = { id: 'ticker', receipt };
    if (this.lastId !== undefined) headers['x-resume-after'] = this.lastId;
    this.client.watchForReceipt(receipt, () => this.ready?.());
    this.client.subscribe(this.destination, (m: IMessage) => {
      this.seqs.push(Number(m.body));
      this.lastId = m.headers['message-id'];
    }, headers);
  }
}

/** A queue consumer (client-individual, prefetch) that acks each message `holdMs` after it came, with a receipt. */
export class QueueWorker extends Roaming {
  /** Every delivery: the message's sequence number and whether the broker marked it redelivered. */
  readonly deliveries: { seq: number; redelivered: boolean; connection: number }[] = [];
  /** Sequence numbers whose ACK the broker confirmed (RECEIPT). */
  readonly acked: number[] = [];
  private ready: (() => void) | undefined;
  private acks = 0;
  private readonly holding = new Set<NodeJS.Timeout>();

  constructor(
    urls: readonly string[],
    home: number,
    away: number,
    private readonly queue: string,
    private readonly prefetch: number,
    /** How long messages are held before the ACK, on the first connection and after moving. */
    private readonly holdMs: { readonly first: number; readonly later: number },
  ) {
    super(urls, home, away);
  }

  start(): Promise<void> {
    return new Promise((resolve) => {
      this.ready = resolve;
      this.client.activate();
    });
  }

  override stop(): Promise<void> {
    for (const t of this.holding) clearTimeout(t);
    return super.stop();
  }

  /** Deliveries of the first connection that were never acked there (held when the node drained). */
  heldAtDrain(): number[] {
    const acked = new Set(this.acked);
    return this.deliveries.filter((d) => d.connection === 1 && !acked.has(d.seq)).map((d) => d.seq);
  }

  protected subscribe(): void {
    const connection = this.connections;
    const receipt = `worker-${connection}-${Math.random()}`;
    this.client.watchForReceipt(receipt, () => this.ready?.());
    this.client.subscribe(this.queue, (m: IMessage) => {
      const seq = Number(m.body);
      this.deliveries.push({ seq, redelivered: m.headers['redelivered'] === 'true', connection });
      const timer = setTimeout(() => {
        this.holding.delete(timer);
        // An ack id belongs to the connection that delivered the message: never send it on a newer one.
        if (this.connections !== connection || !this.client.connected) return;
        const id = `ack-${++this.acks}-${Math.random()}`;
        this.client.watchForReceipt(id, () => this.acked.push(seq));
        m.ack({ receipt: id });
      }, connection === 1 ? this.holdMs.first : this.holdMs.later);
      this.holding.add(timer);
    }, { id: 'jobs', ack: 'client-individual', 'prefetch-count': String(this.prefetch), receipt });
  }
}

/** Numbers 1..n that `seqs` lacks, and those it holds more than once. */
export function lostAndDuplicated(seqs: readonly number[], n: number): { lost: number[]; duplicated: number[] } {
  const count = new Map<number, number>();
  for (const s of seqs) count.set(s, (count.get(s) ?? 0) + 1);
  const lost: number[] = [];
  for (let i = 1; i <= n; i++) if (!count.has(i)) lost.push(i);
  const duplicated = [...count].filter(([, c]) => c > 1).map(([s]) => s);
  return { lost, duplicated };
}
