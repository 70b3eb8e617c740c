// Topic traffic for the driver: numbered publishers and counting subscribers, as in the k6 scripts
// (loadtest/k6/lib/topic.ts), with exact accounting on top. A message counts as published when its
// RECEIPT arrived ("confirmed"); a SEND whose connection went away first may or may not have been
// taken, and is neither lost nor duplicated whichever happened. Per subscriber and publisher:
//   lost        confirmed messages the subscriber never received;
//   duplicated  messages it received more than once (on a resumed subscription too);
//   incomplete  the publisher's final message was confirmed and never arrived;
//   unconfirmed_delivered  received although its RECEIPT never came (taken by the broker, the
//               connection closed before the RECEIPT was written): neither loss nor duplicate.
import { performance } from 'node:perf_hooks';
import type { Client, IMessage } from '@stomp/stompjs';
import { StompConn, parseUrl } from '../../bench/stompbench/lib.js';
import { HEADER, SeqTrack } from '../k6/lib/scenario-core.js';
import type { Metrics } from './metrics.js';
import { Roaming, receiptId } from './roaming.js';

export const nowMs = (): number => performance.timeOrigin + performance.now();

export interface TrackReport {
  readonly max: number;
  readonly missing: readonly number[];
  readonly duplicated: number;
  readonly sawFinal: boolean;
}
/** A message received again: which, and the message-ids of its first and repeated delivery. */
export interface Repeat {
  readonly publisher: string;
  readonly seq: number;
  readonly firstId: string | undefined;
  readonly againId: string | undefined;
  /** The subscriber's connection (1 = the first) of each delivery. */
  readonly firstConnection: number;
  readonly againConnection: number;
}

/** What one subscriber saw: destination and, per publisher id, its sequence bookkeeping. */
export interface SubscriberReport {
  readonly destination: string;
  readonly tracks: Readonly<Record<string, TrackReport>>;
  /** With traceRepeats: every repeated delivery, and drain notices naming another message, for diagnosis. */
  readonly repeats?: readonly Repeat[];
  readonly staleDrainIds?: readonly { readonly header: string; readonly lastReceived: string | undefined }[];
}
export interface PublisherReport {
  readonly id: string;
  readonly destination: string;
  /** Confirmed seqs as inclusive ranges. */
  readonly confirmed: readonly (readonly [number, number])[];
  /** The final seq, when its RECEIPT arrived. */
  readonly finalSeq: number | undefined;
}

/** The counting half of a subscriber, whatever client feeds it. */
export class TopicTally {
  private readonly tracks = new Map<string, SeqTrack>();
  lastMessageId: string | undefined;
  /** The subscriber's current connection (1 = the first); its client keeps it up to date. */
  connection = 1;
  /** Drain notices whose x-last-message-id was not the last message-id this subscriber received. */
  readonly staleDrainIds: { readonly header: string; readonly lastReceived: string | undefined }[] = [];
  /** "<publisher>:<seq>" -> message-id and connection of the first delivery, with traceRepeats. */
  private readonly firsts: Map<string, [string | undefined, number]> | undefined;
  private readonly repeats: Repeat[] = [];

  constructor(readonly destination: string, private readonly metrics: Metrics, traceRepeats = false) {
    if (traceRepeats) this.firsts = new Map();
  }

  see(headers: Readonly<Record<string, string | undefined>>): void {
    const publisher = headers[HEADER.publisher] ?? '?';
    let track = this.tracks.get(publisher);
    if (track === undefined) this.tracks.set(publisher, (track = new SeqTrack()));
    const before = track.duplicated;
    const seq = Number(headers[HEADER.seq]);
    track.see(seq, headers[HEADER.final] === 'true');
    const id = headers['message-id'];
    if (track.duplicated === before) {
      this.metrics.add('stomp_delivered');
      this.metrics.add('stomp_latency_ms', nowMs() - Number(headers[HEADER.sentMs]));
      this.firsts?.set(`${publisher}:${seq}`, [id, this.connection]);
    } else if (this.firsts !== undefined) {
      const [firstId, firstConnection] = this.firsts.get(`${publisher}:${seq}`) ?? [undefined, 0];
      this.repeats.push({ publisher, seq, firstId, againId: id, firstConnection, againConnection: this.connection });
    }
    this.lastMessageId = id ?? this.lastMessageId;
  }

  sawFinal(publisher: string): boolean {
    return this.tracks.get(publisher)?.sawFinal === true;
  }

  report(): SubscriberReport {
    const tracks: Record<string, TrackReport> = {};
    for (const [id, t] of this.tracks) tracks[id] = { max: t.max, missing: [...t.missing], duplicated: t.duplicated, sawFinal: t.sawFinal };
    const trace = this.firsts === undefined ? {} : { repeats: this.repeats, staleDrainIds: this.staleDrainIds };
    return { destination: this.destination, tracks, ...trace };
  }
}

export interface Stoppable {
  stop(): Promise<void>;
}

/** A subscriber on stompbench's raw WebSocket client (cheapest per message); no reconnect. */
export async function rawSubscriber(url: string, tally: TopicTally, metrics: Metrics): Promise<Stoppable> {
  const u = parseUrl(url);
  const conn = new StompConn({ transport: 'raw', host: u.host, port: u.port, path: u.path, vhost: '/', subprotocols: ['v12.stomp'], connectTimeoutMs: 15_000 });
  const started = nowMs();
  try {
    await conn.connect();
  } catch (err) {
    metrics.add('stomp_connect_errors');
    throw err;
  }
  metrics.add('stomp_connects');
  metrics.add('stomp_connect_ms', nowMs() - started);
  conn.onMessageFrame = (f) => tally.see(f.headers);
  conn.onErrorFrame = () => metrics.add('stomp_errors');
  await conn.subscribe(tally.destination, 'load', 'auto', {}, true);
  return { stop: () => conn.disconnect(2000) };
}

/**
 * A stompjs subscriber that moves on when its node drains and resumes after the last message it
 * saw (x-resume-after, or the drain ERROR's x-last-message-id-load). Resolves once subscribed.
 */
export function roamingSubscriber(
  urls: () => readonly string[], home: number, tally: TopicTally, metrics: Metrics, reconnectDelayMs: number, reconnectLog?: number[],
): Promise<Stoppable> {
  return new Promise((resolve) => {
    const roaming: Roaming = new Roaming({
      urls,
      home,
      reconnectDelayMs,
      metrics,
      ...(reconnectLog === undefined ? {} : { reconnectLog }),
      onDrain: (frame) => {
        // The drain ERROR names the last message sent on the subscription; it matters only when
        // the callback saw none (docs/resume.md). A different id is recorded for diagnosis, and the
        // last message actually received wins: resuming before it would deliver it twice.
        const header = frame.headers['x-last-message-id-load'];
        if (header !== undefined && tally.lastMessageId !== undefined && header !== tally.lastMessageId) {
          metrics.add('stomp_stale_drain_ids');
          tally.staleDrainIds.push({ header, lastReceived: tally.lastMessageId });
        }
        tally.lastMessageId ??= header;
      },
      onConnect: (client: Client) => {
        tally.connection = roaming.connections;
        const receipt = receiptId('sub');
        const headers: Record<string, string> = { id: 'load', receipt };
        if (tally.lastMessageId !== undefined) headers['x-resume-after'] = tally.lastMessageId;
        client.watchForReceipt(receipt, () => {
          roaming.resumed();
          resolve(roaming);
        });
        client.subscribe(tally.destination, (m: IMessage) => tally.see(m.headers), headers);
      },
    });
    roaming.start();
  });
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
export class TopicPublisher {
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

/** Adds stomp_lost, stomp_duplicated and stomp_incomplete from the reports (see the top of this file). */
export function topicVerdict(publishers: readonly PublisherReport[], subscribers: readonly SubscriberReport[], metrics: Metrics): void {
  let lost = 0;
  let duplicated = 0;
  let incomplete = 0;
  let unconfirmed = 0;
  for (const sub of subscribers) {
    for (const pub of publishers.filter((p) => p.destination === sub.destination)) {
      const track = sub.tracks[pub.id] ?? { max: 0, missing: [], duplicated: 0, sawFinal: false };
      const missing = new Set(track.missing);
      let confirmedReceived = 0;
      for (const [from, to] of pub.confirmed) {
        for (let s = from; s <= to; s++) {
          if (s > track.max || missing.has(s)) lost++;
          else confirmedReceived++;
        }
      }
      unconfirmed += track.max - missing.size - confirmedReceived;
      duplicated += track.duplicated;
      if (pub.finalSeq !== undefined && !track.sawFinal) incomplete++;
    }
  }
  metrics.add('stomp_lost', lost);
  metrics.add('stomp_duplicated', duplicated);
  metrics.add('stomp_incomplete', incomplete);
  metrics.add('stomp_unconfirmed_delivered', unconfirmed);
}
