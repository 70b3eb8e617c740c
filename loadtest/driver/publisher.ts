// Numbered publishers for topics and queues: every SEND carries x-lt-pub, x-lt-seq and x-lt-sent
// and asks for a RECEIPT; a message counts as published ("confirmed") when its RECEIPT arrived.
// Nothing is resent after a lost connection, so a repeat at a subscriber is the broker's.
import { HEADER } from '../k6/lib/scenario-core.js';
import type { Metrics } from './metrics.js';
import { Roaming, receiptId } from './roaming.js';
import { nowMs } from './topic.js';

export interface PublisherReport {
  readonly id: string;
  readonly destination: string;
  /** Confirmed seqs as inclusive ranges. */
  readonly confirmed: readonly (readonly [number, number])[];
  /** The final seq, when its RECEIPT arrived. */
  readonly finalSeq: number | undefined;
}

export interface PublisherOptions {
  readonly urls: () => readonly string[];
  readonly home: number;
  readonly destination: string;
  readonly ratePerSec: number;
  /** Messages to send in all (0: until stop()). The last one carries x-lt-final. */
  readonly total: number;
  readonly bodyBytes: number;
  readonly reconnectDelayMs: number;
  readonly metrics: Metrics;
  /** The counter each RECEIPT adds to (default stomp_published; queue producers: queue_sent). */
  readonly counter?: 'stomp_published' | 'queue_sent';
  readonly reconnectLog?: number[];
}

let publisherSeq = 0;

/** Sends numbered messages to a topic or queue at ratePerSec, every SEND with a receipt, while connected (nothing is resent). */
export class Publisher {
  readonly id = `pub-${process.pid}-${++publisherSeq}`;
  private readonly roaming: Roaming;
  private readonly confirmed: number[] = [];
  private finalSeq: number | undefined;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private finalWaiter: (() => void) | undefined;
  private readonly body: string;
  /** Messages to send in all; an open-ended publisher sets it when it finishes. */
  private total: number;

  constructor(private readonly options: PublisherOptions) {
    this.body = 'x'.repeat(options.bodyBytes);
    this.total = options.total;
    const { urls, home, reconnectDelayMs, metrics, reconnectLog } = options;
    this.roaming = new Roaming({ urls, home, reconnectDelayMs, metrics, onConnect: () => {}, ...(reconnectLog === undefined ? {} : { reconnectLog }) });
  }

  /** Connects; resolves once connected. */
  async connect(): Promise<void> {
    this.roaming.start();
    const until = Date.now() + 15_000;
    while (!this.roaming.client.connected) {
      if (Date.now() > until) throw new Error(`publisher ${this.id} could not connect`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Starts sending; what the rate owes is sent every 10 ms. */
  start(): void {
    const started = Date.now();
    this.timer = setInterval(() => {
      const due = Math.floor(((Date.now() - started) * this.options.ratePerSec) / 1000) + 1;
      const limit = this.total > 0 ? Math.min(due, this.total) : due;
      while (this.seq < limit && this.roaming.client.connected) this.sendNext();
      if (this.total > 0 && this.seq >= this.total) this.halt();
    }, 10);
  }

  private sendNext(): void {
    const seq = ++this.seq;
    const final = seq === this.total;
    const receipt = receiptId('p');
    const headers: Record<string, string> = { [HEADER.publisher]: this.id, [HEADER.seq]: String(seq), [HEADER.sentMs]: nowMs().toFixed(3), receipt };
    if (final) headers[HEADER.final] = 'true';
    this.roaming.client.watchForReceipt(receipt, () => {
      this.confirmed.push(seq);
      this.options.metrics.add(this.options.counter ?? 'stomp_published');
      if (final) {
        this.finalSeq = seq;
        this.finalWaiter?.();
      }
    });
    this.roaming.client.publish({ destination: this.options.destination, headers, body: this.body });
  }

  private halt(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Stops sending. With an open-ended publisher (total 0), sends one last, final message first.
   * Waits up to timeoutMs for the final RECEIPT, then disconnects.
   */
  async finish(timeoutMs: number): Promise<PublisherReport> {
    if (this.total === 0) {
      this.halt();
      const until = Date.now() + timeoutMs;
      while (!this.roaming.client.connected && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      this.total = this.seq + 1;
      if (this.roaming.client.connected) this.sendNext();
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.finalWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
      if (this.finalSeq !== undefined) this.finalWaiter();
    });
    this.halt();
    await this.roaming.stop();
    return { id: this.id, destination: this.options.destination, confirmed: toRanges(this.confirmed), finalSeq: this.finalSeq };
  }
}

export function toRanges(values: readonly number[]): [number, number][] {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const v of sorted) {
    const last = ranges.at(-1);
    if (last !== undefined && last[1] === v - 1) last[1] = v;
    else ranges.push([v, v]);
  }
  return ranges;
}
