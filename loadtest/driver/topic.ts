// Topic subscribers for the driver (publishers: publisher.ts), counting as the k6 scripts do
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
import type { PublisherReport } from './publisher.js';
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
