// One client connection's STOMP state machine: CONNECT negotiation, frame handling, output
// batching, heart-beats and the lifecycle of its subscriptions. Transport-agnostic: it sees bytes
// through `receive` and writes through the Transport interface.
import { QueueFullError, type Completion, type Message, type QueuedMessage, type UserHeaders } from '@stompede/cluster';
import {
  encodeFrame,
  encodeWithHead,
  FrameParser,
  Headers,
  StompProtocolError,
  type Frame,
  type StompVersion,
} from '@stompede/stomp';
import { negotiateConnect } from './connect.js';
import { resolveDestination, TEMP_QUEUE_PREFIX, REPLY_QUEUE_PREFIX, type Destination } from './destinations.js';
import type { Group, GroupMember, NativeMember } from './group.js';
import type { Hub } from './hub.js';
import { messageOpening, messageTail, redeliveryLines } from './message-frame.js';
import type { FlushableSession } from './outbox.js';
import { textBody } from './router.js';
import { ACK_MODES, Subscription, type AckMode, type Delivery } from './subscription.js';
import type { Transport } from './transport.js';

export type SessionState = 'connecting' | 'connected' | 'closing' | 'closed';

/** Headers the broker sets on MESSAGE frames; a SEND cannot supply them. */
const RESERVED_HEADERS = new Set([
  'destination', 'receipt', 'transaction', 'content-length', 'message-id', 'subscription', 'ack', 'redelivered',
  'x-delivery-count',
]);
const EOL = new Uint8Array([0x0a]);
/** Shared by every session until its first asynchronous broker operation: one less object per idle connection. */
const SETTLED: Promise<void> = Promise.resolve();
/** A closing connection that does not take its last bytes within this time is cut. */
const CLOSE_LINGER_MS = 5_000;

interface TransactionFrame {
  readonly command: string;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

/** Raised inside frame handling; becomes an ERROR frame and a close. */
class Refusal extends Error {
  constructor(
    readonly error: string,
    readonly detail: string,
    readonly extraHeaders: [string, string][] = [],
  ) {
    super(error);
  }
}

export class Session implements FlushableSession, GroupMember, NativeMember {
  queuedForFlush = false;
  state: SessionState = 'connecting';
  version: StompVersion = '1.2';
  vhost = '';
  readonly openedMs: number;
  lastReadMs: number;
  lastWriteMs: number;
  private closingSinceMs = 0;
  /** Negotiated heart-beat intervals, 0 = off. */
  sendEveryMs = 0;
  expectEveryMs = 0;

  private readonly parser: FrameParser;
  private out: Uint8Array[] = [];
  private outBytes = 0;
  private outBinary = false;
  private endAfterFlush = false;
  /** A delivery was refused for lack of room in the socket; resume when it drains. */
  private starved = false;
  private current: Frame | undefined;

  private subs: Map<string, Subscription> | undefined;
  private subsByOrdinal: Map<number, Subscription> | undefined;
  private nativeGroups = 0;
  private nextOrdinal = 0;
  private nextTag = 0;
  private transactions: Map<string, TransactionFrame[]> | undefined;
  /** /temp-queue/<name> -> its reply-queue subscription */
  private replyQueues: Map<string, Subscription> | undefined;
  /** Broker operations that complete asynchronously; receipts wait for them. */
  private inflight = 0;
  private chain: Promise<void> = SETTLED;

  constructor(
    readonly hub: Hub,
    readonly transport: Transport,
    readonly id: string,
  ) {
    const now = hub.now();
    this.openedMs = now;
    this.lastReadMs = now;
    this.lastWriteMs = now;
    this.parser = new FrameParser(hub.config, this);
  }

  // ---------------------------------------------------------------- transport events

  /** Bytes from the peer. `chunk` is only valid during this call. */
  receive(chunk: Uint8Array): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.lastReadMs = this.hub.now();
    this.hub.metrics.bytesIn += chunk.length;
    try {
      this.parser.push(chunk);
    } catch (err) {
      this.failWith(err);
    }
  }

  /** The transport can take more bytes. */
  onDrain(): void {
    if (this.outBytes > 0) this.flushOutput();
    if (this.starved && !this.congested) {
      this.starved = false;
      this.resumeDeliveries();
    }
  }

  /** The socket is gone (closed by either side). */
  onClosed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.parser.stop();
    this.out = [];
    this.outBytes = 0;
    this.release();
    this.hub.detach(this);
  }

  /** Called every hub tick: connect timeout, heart-beats, lingering closes. */
  tick(now: number, tickMs: number): void {
    const config = this.hub.config;
    switch (this.state) {
      case 'connecting':
        if (now - this.openedMs > config.connectTimeoutMs) {
          this.fail('connect timeout', `No CONNECT frame within ${config.connectTimeoutMs} ms (connectTimeoutMs).`);
        }
        return;
      case 'closing':
        if (now - this.closingSinceMs > CLOSE_LINGER_MS) this.transport.destroy();
        return;
      case 'connected':
        if (this.expectEveryMs > 0 && now - this.lastReadMs > this.expectEveryMs * config.heartbeatGrace) {
          this.hub.metrics.heartbeatTimeouts++;
          this.fail(
            'heart-beat timeout',
            `Nothing received for ${now - this.lastReadMs} ms; the negotiated interval is ${this.expectEveryMs} ms and the grace ${config.heartbeatGrace}x.`,
          );
          return;
        }
        if (this.sendEveryMs > 0 && this.outBytes === 0 && now - this.lastWriteMs >= this.sendEveryMs - tickMs) {
          this.write(EOL, false);
        }
        return;
      case 'closed':
        return;
    }
  }

  // ---------------------------------------------------------------- output

  /** Queues bytes for the end of the turn (or writes now when coalescing is off). */
  write(bytes: Uint8Array, binary: boolean): void {
    if (this.state === 'closed') return;
    this.out.push(bytes);
    this.outBytes += bytes.length;
    if (binary) this.outBinary = true;
    if (this.outBytes > this.hub.config.maxPendingOutboundBytes + this.hub.config.maxFrameBytes) {
      this.abortSlowConsumer();
      return;
    }
    // Coalescing waits for the end of the turn, but not with a lot in hand: a busy turn must not
    // make a reader that keeps up look like a slow consumer, nor hold megabytes in memory.
    if (this.hub.outbox.coalesce && this.outBytes < this.hub.config.maxPendingOutboundBytes / 8) {
      this.hub.outbox.addSession(this);
    } else {
      this.flushOutput();
    }
  }

  flushOutput(): void {
    if (this.state === 'closed') return;
    if (this.outBytes > 0) {
      // uWS drops (rather than queues) a send made while it is over its backpressure limit, so
      // wait for the drain event instead of writing into a full socket.
      if (this.transport.bufferedBytes() > this.hub.config.maxPendingOutboundBytes) return;
      this.transport.write(this.out, this.outBytes, this.outBinary);
      this.out = [];
      this.outBytes = 0;
      this.outBinary = false;
      this.lastWriteMs = this.hub.now();
      // The kernel may take everything at once, and then no drain event ever comes: deliveries
      // that paused for our own queued output resume here.
      if (this.starved && !this.congested && this.state === 'connected') {
        this.starved = false;
        this.resumeDeliveries();
      }
    }
    if (this.endAfterFlush) {
      this.endAfterFlush = false;
      this.transport.end();
    }
  }

  /** Bytes written and not yet taken by the kernel. */
  get pendingBytes(): number {
    return this.outBytes + this.transport.bufferedBytes();
  }

  /** Acked and queue deliveries stop while this is true (credit), and resume on drain. */
  get congested(): boolean {
    return this.pendingBytes >= this.hub.config.maxPendingOutboundBytes / 2;
  }

  // ---------------------------------------------------------------- deliveries

  /** A frame shared with the rest of an auto-ack group, for members written per socket. */
  deliverShared(frame: Uint8Array, binary: boolean): void {
    if (this.state !== 'connected') return;
    if (this.pendingBytes > this.hub.config.maxPendingOutboundBytes) {
      if (this.hub.config.slowConsumerPolicy === 'drop') {
        this.hub.metrics.slowConsumerDrops++;
        this.hub.metrics.messagesDelivered--;
        return;
      }
      this.abortSlowConsumer();
      return;
    }
    this.write(frame, binary);
  }

  /**
   * Called by native groups as they publish: a socket whose backlog nears the limit is closed as a
   * slow consumer here, where it is counted, before uWS cuts it at the limit without a word.
   */
  checkBacklog(): void {
    if (this.state !== 'connected') return;
    if (this.transport.bufferedBytes() > (this.hub.config.maxPendingOutboundBytes * 3) / 4) this.abortSlowConsumer();
  }

  /** A topic message for a client-acked subscription; held while the subscription has no credit. */
  deliverTopic(sub: Subscription, message: Message): void {
    if (this.state !== 'connected') return;
    if ((sub.held !== undefined && sub.held.length > 0) || !sub.hasCredit || this.congested) {
      this.hold(sub, message, 0, false);
      this.releaseHeld(sub);
      return;
    }
    this.send(sub, message, undefined, 0);
  }

  private hold(sub: Subscription, message: Message, previous: number, atHead: boolean): void {
    if (this.congested) this.starved = true;
    sub.hold(message, previous, atHead);
    if (sub.heldBytes > this.hub.config.maxPendingOutboundBytes) this.abortSlowConsumer();
  }

  canTake(sub: Subscription): boolean {
    if (this.state !== 'connected' || (sub.acked && !sub.hasCredit)) return false;
    if (this.congested) {
      this.starved = true;
      return false;
    }
    return true;
  }

  deliverQueued(sub: Subscription, entry: QueuedMessage): void {
    this.send(sub, entry.message, entry, entry.deliveries);
    if (!sub.acked) this.hub.router.ackEntry(this.vhost, entry);
  }

  /** Called by the router when an auto-ack subscription joins its group. */
  joinGroup(sub: Subscription, group: Group): void {
    const config = this.hub.config;
    if (config.fanoutMode === 'native' && config.slowConsumerPolicy === 'disconnect' && this.hub.outbox.publisher !== null) {
      // Frames queued before this SUBSCRIBE must not be overtaken by the group's frames.
      this.flushOutput();
      // Messages batched for the group this turn were routed before this subscription existed:
      // publish them before this socket joins (a per-socket member would not get them either).
      if (group.dirty) group.flush(this.hub.outbox.publisher);
      if (this.transport.joinGroup(group.topic)) {
        group.native.add(this);
        this.nativeGroups++;
        sub.native = true;
        return;
      }
    }
    group.members.add(this);
  }

  leaveGroup(sub: Subscription, group: Group): void {
    if (sub.native) {
      // Messages batched for the group this turn were routed while this subscription was live;
      // publish them while this socket is still a member (it may be the last one).
      const publisher = this.hub.outbox.publisher;
      if (group.dirty && publisher !== null) group.flush(publisher);
      sub.native = false;
      group.native.delete(this);
      this.nativeGroups--;
      // A closing socket keeps its native topics until uWS closes it: leaving its last topic makes
      // uWS discard published messages it has not written yet, which the final RECEIPT/ERROR/close
      // would otherwise drain first.
      if (this.state !== 'closing') this.transport.leaveGroup(group.topic);
    } else {
      // A session has at most one subscription per group: the group key includes the id.
      group.members.delete(this);
    }
  }

  private send(sub: Subscription, message: Message, entry: QueuedMessage | undefined, previous: number): void {
    let head = sub.opening;
    if (sub.acked) {
      const tag = ++this.nextTag;
      head += `ack:${sub.ordinal}.${tag}\n`;
      message.retain();
      sub.track({ tag, message, entry, previous });
    }
    head += redeliveryLines(previous) + messageTail(message, this.version);
    this.write(encodeWithHead(head, message.body), !textBody(message));
    this.hub.metrics.messagesDelivered++;
  }

  private releaseHeld(sub: Subscription): void {
    // A settle can fail the session midway (slow consumer); nothing may follow its ERROR.
    if (this.state !== 'connected') return;
    while (sub.held !== undefined && sub.held.length > 0 && sub.hasCredit) {
      if (this.congested) {
        this.starved = true;
        return;
      }
      const h = sub.nextHeld()!;
      this.send(sub, h.message, undefined, h.previous);
    }
  }

  private resumeDeliveries(): void {
    if (this.subs === undefined) return;
    for (const sub of this.subs.values()) {
      if (sub.queue !== undefined) sub.queue.schedule();
      else if (sub.acked) this.releaseHeld(sub);
    }
  }

  // ---------------------------------------------------------------- frames

  /** @internal The parser's sink: a parsed frame, valid during this call only. */
  onFrame(frame: Frame): void {
    this.hub.metrics.framesIn++;
    this.current = frame;
    try {
      if (frame.body.length > 0 && frame.command !== 'SEND') {
        throw new Refusal('unexpected body', `${frame.command} frames must not have a body (only SEND may).`);
      }
      if (this.state === 'connecting') {
        if (frame.command !== 'CONNECT' && frame.command !== 'STOMP') {
          throw new Refusal('not connected', `The first frame must be CONNECT or STOMP, got ${frame.command}.`);
        }
        this.connect(frame);
        return;
      }
      this.handle(frame, true);
    } catch (err) {
      this.failWith(err);
    } finally {
      this.current = undefined;
    }
  }

  /** Handles a frame of a connected session; `receipts` is false when replaying a transaction. */
  private handle(frame: Frame, receipts: boolean): void {
    const h = frame.headers;
    switch (frame.command) {
      case 'SEND':
        if (this.inTransaction(frame)) break;
        this.handleSend(frame);
        break;
      case 'SUBSCRIBE':
        this.handleSubscribe(h);
        break;
      case 'UNSUBSCRIBE':
        this.handleUnsubscribe(h);
        break;
      case 'ACK':
      case 'NACK': {
        const settle = this.resolveAck(frame);
        if (this.inTransaction(frame)) break;
        settle();
        break;
      }
      case 'BEGIN':
        this.begin(h);
        break;
      case 'COMMIT':
        this.commit(h);
        break;
      case 'ABORT':
        this.transactionOf(h, 'ABORT');
        this.transactions!.delete(h.get('transaction')!);
        break;
      case 'DISCONNECT':
        this.disconnect(h.get('receipt'));
        return;
      case 'CONNECT':
      case 'STOMP':
        throw new Refusal('already connected', `${frame.command} was already accepted on this connection.`);
      default:
        throw new Refusal('unknown command', `${JSON.stringify(frame.command)} is not a STOMP client command (commands are case sensitive).`);
    }
    const receipt = h.get('receipt');
    if (receipts && receipt !== undefined) this.receipt(receipt);
  }

  private connect(frame: Frame): void {
    const config = this.hub.config;
    const result = negotiateConnect(frame.headers, config);
    if ('error' in result) throw new Refusal(result.error, result.detail, result.headers);
    this.version = result.version;
    this.parser.version = result.version;
    this.vhost = result.vhost;
    this.sendEveryMs = result.sendEveryMs;
    this.expectEveryMs = result.expectEveryMs;
    this.state = 'connected';
    const headers = [...result.headers, ['session', `${config.nodeId}:${this.id}`], ['server', config.serverName]] as [string, string][];
    this.write(encodeFrame('CONNECTED', headers), false);
  }

  private handleSend(frame: Frame): void {
    const name = required(frame.headers, 'destination', 'SEND');
    const destination = this.destination(name, 'send');
    const headers = this.userHeaders(frame.headers);
    let done: Completion;
    try {
      done = this.hub.router.publish(this.vhost, destination, headers, frame.body);
    } catch (err) {
      throw queueRefusal(err) ?? err;
    }
    this.track(done);
  }

  /** User headers of a SEND, without server-owned ones; a /temp-queue reply-to becomes a reply queue. */
  private userHeaders(h: Headers): UserHeaders {
    const names: string[] = [];
    const values: string[] = [];
    let replyTo = false;
    for (let i = 0; i < h.names.length; i++) {
      const name = h.names[i]!;
      if (RESERVED_HEADERS.has(name)) continue;
      let value = h.values[i]!;
      if (name === 'reply-to' && !replyTo) {
        replyTo = true;
        if (value.startsWith(TEMP_QUEUE_PREFIX)) value = this.replyQueueFor(value);
      }
      names.push(name);
      values.push(value);
    }
    return { names, values };
  }

  private handleSubscribe(h: Headers): void {
    const name = required(h, 'destination', 'SUBSCRIBE');
    // STOMP 1.0 made the id optional; such a subscription is known by its destination.
    const id = this.version === '1.0' ? (h.get('id') ?? name) : required(h, 'id', 'SUBSCRIBE');
    const destination = this.destination(name, 'subscribe');
    if (this.subs?.has(id)) {
      throw new Refusal('duplicate subscription', `Subscription id "${id}" is already in use on this connection.`);
    }
    const ackMode = (h.get('ack') ?? 'auto') as AckMode;
    if (!ACK_MODES.includes(ackMode)) {
      throw new Refusal('invalid ack mode', `ack must be auto, client or client-individual, got "${h.get('ack')}".`);
    }
    const prefetch = h.get('prefetch-count');
    let window = this.hub.config.maxUnacked;
    const requested = prefetch === undefined ? this.hub.config.defaultPrefetch : parseCount(prefetch);
    if (requested === null) {
      throw new Refusal('invalid prefetch-count', `prefetch-count must be a non-negative integer, got "${prefetch}".`);
    }
    if (requested > 0) window = Math.min(window, requested);
    this.addSubscription(id, destination, ackMode, window);
  }

  private addSubscription(id: string, destination: Destination, ackMode: AckMode, window: number): Subscription {
    const config = this.hub.config;
    this.subs ??= new Map();
    this.subsByOrdinal ??= new Map();
    if (this.subs.size >= config.maxSubscriptions) {
      throw new Refusal(
        'too many subscriptions',
        `A connection may hold at most ${config.maxSubscriptions} subscriptions (maxSubscriptions).`,
      );
    }
    const sub = new Subscription(this, ++this.nextOrdinal, id, destination, ackMode, window);
    sub.opening = messageOpening(id, this.version);
    if (this.version !== '1.2') sub.byMessageId = new Map();
    this.subs.set(id, sub);
    this.subsByOrdinal.set(sub.ordinal, sub);
    this.hub.router.subscribe(this.vhost, sub);
    return sub;
  }

  private handleUnsubscribe(h: Headers): void {
    let sub: Subscription | undefined;
    const id = h.get('id');
    if (id !== undefined) sub = this.subs?.get(id);
    else if (this.version === '1.0' && h.has('destination')) {
      // A 1.0 subscription made without an id is known by its destination; prefer it, then the
      // oldest other subscription to that destination.
      const dest = h.get('destination')!;
      sub = this.subs?.get(dest);
      if (sub === undefined) for (const s of this.subs?.values() ?? []) if (s.destination.name === dest) { sub = s; break; }
    } else {
      required(h, 'id', 'UNSUBSCRIBE');
    }
    if (sub === undefined) {
      throw new Refusal('unknown subscription', `No subscription "${id ?? h.get('destination')}" on this connection.`);
    }
    this.dropSubscription(sub);
  }

  private dropSubscription(sub: Subscription): void {
    this.subs!.delete(sub.id);
    this.subsByOrdinal!.delete(sub.ordinal);
    // Unacked queue entries go back, in their original order, ahead of newer ones.
    const unacked = [...sub.unacked.values()].reverse();
    for (const d of unacked) {
      sub.untrack(d);
      if (d.entry !== undefined) this.hub.router.requeueEntry(this.vhost, d.entry);
    }
    sub.held = undefined;
    this.hub.router.unsubscribe(this.vhost, sub);
    if (sub.destination.kind === 'reply') {
      this.replyQueues?.delete(sub.id);
      this.hub.router.closeReplyQueue(this.vhost, sub.destination.name);
    }
  }

  /** Finds the delivery an ACK/NACK names and returns how to settle it; throws if unknown. */
  private resolveAck(frame: Frame): () => void {
    const h = frame.headers;
    const nack = frame.command === 'NACK';
    let sub: Subscription | undefined;
    let delivery: Delivery | undefined;
    let named: string;
    if (this.version === '1.2') {
      named = required(h, 'id', frame.command);
      const dot = named.indexOf('.');
      sub = this.subsByOrdinal?.get(Number(named.slice(0, dot)));
      delivery = dot > 0 ? sub?.unacked.get(Number(named.slice(dot + 1))) : undefined;
      // Number() is lenient (" 1", "01", "0x1", "1.0"): only the exact ack header value names it.
      if (delivery !== undefined && named !== `${sub!.ordinal}.${delivery.tag}`) delivery = undefined;
    } else {
      named = required(h, 'message-id', frame.command);
      const subscription = this.version === '1.1' ? required(h, 'subscription', frame.command) : h.get('subscription');
      const candidates = subscription !== undefined ? [this.subs?.get(subscription)] : [...(this.subs?.values() ?? [])];
      for (const s of candidates) {
        delivery = s?.byMessageId?.get(named);
        if (delivery !== undefined) {
          sub = s;
          break;
        }
      }
    }
    if (sub === undefined || delivery === undefined) {
      throw new Refusal(
        `unknown ${nack ? 'nack' : 'ack'} id`,
        `No unacknowledged message "${named}" on this connection (already settled, auto-ack, or never delivered).`,
      );
    }
    const requeueHeader = h.get('requeue');
    if (requeueHeader !== undefined && requeueHeader !== 'true' && requeueHeader !== 'false') {
      throw new Refusal('invalid requeue', `requeue must be true or false, got "${requeueHeader}".`);
    }
    const found = sub;
    const target = delivery;
    return () => this.settle(found, target, nack, requeueHeader !== 'false');
  }

  private settle(sub: Subscription, target: Delivery, nack: boolean, requeue: boolean): void {
    if (!sub.unacked.has(target.tag)) {
      throw new Refusal(`unknown ${nack ? 'nack' : 'ack'} id`, 'The message was settled before the transaction committed.');
    }
    const settled = sub.settledBy(target);
    for (const d of settled) sub.untrack(d);
    const router = this.hub.router;
    const limit = this.hub.config.maxDeliveries;
    const again: Delivery[] = [];
    // Acks and dead letters in delivery order, so the dead-letter destination keeps that order.
    for (const d of settled) {
      if (!nack) {
        if (d.entry !== undefined) router.ackEntry(this.vhost, d.entry);
      } else if (!requeue || (limit > 0 && d.previous + 1 >= limit)) {
        router.deadLetterMessage(this.vhost, d.message, requeue ? 'delivery-limit' : 'rejected');
        if (d.entry !== undefined) router.ackEntry(this.vhost, d.entry);
      } else {
        again.push(d);
      }
    }
    // Requeues walk backwards so they end up at the head in their original order.
    for (let i = again.length - 1; i >= 0; i--) {
      const d = again[i]!;
      if (d.entry !== undefined) {
        router.requeueEntry(this.vhost, d.entry);
      } else {
        this.hub.metrics.messagesRedelivered++;
        this.hold(sub, d.message, d.previous + 1, true);
      }
    }
    if (sub.queue !== undefined) sub.queue.schedule();
    else this.releaseHeld(sub);
  }

  private begin(h: Headers): void {
    const tx = required(h, 'transaction', 'BEGIN');
    this.transactions ??= new Map();
    if (this.transactions.has(tx)) throw new Refusal('duplicate transaction', `Transaction "${tx}" is already open.`);
    if (this.transactions.size >= this.hub.config.maxTransactions) {
      throw new Refusal(
        'too many transactions',
        `A connection may have at most ${this.hub.config.maxTransactions} open transactions (maxTransactions).`,
      );
    }
    this.transactions.set(tx, []);
  }

  private commit(h: Headers): void {
    const frames = this.transactionOf(h, 'COMMIT');
    this.transactions!.delete(h.get('transaction')!);
    for (const f of frames) this.handle(f, false);
  }

  private transactionOf(h: Headers, command: string): TransactionFrame[] {
    const tx = required(h, 'transaction', command);
    const frames = this.transactions?.get(tx);
    if (frames === undefined) throw new Refusal('unknown transaction', `No open transaction "${tx}".`);
    return frames;
  }

  /** Buffers a transactional SEND/ACK/NACK; true if it was buffered. */
  private inTransaction(frame: Frame): boolean {
    const tx = frame.headers.get('transaction');
    if (tx === undefined) return false;
    const frames = this.transactionOf(frame.headers, frame.command);
    if (frames.length >= this.hub.config.maxTransactionFrames) {
      throw new Refusal(
        'transaction too large',
        `A transaction may hold at most ${this.hub.config.maxTransactionFrames} frames (maxTransactionFrames).`,
      );
    }
    if (frame.command === 'SEND') this.destination(required(frame.headers, 'destination', 'SEND'), 'send');
    const headers = new Headers();
    for (const [k, v] of frame.headers.entries()) if (k !== 'transaction' && k !== 'receipt') headers.add(k, v);
    frames.push({ command: frame.command, headers, body: frame.body.slice() });
    return true;
  }

  private disconnect(receipt: string | undefined): void {
    if (receipt !== undefined) this.receipt(receipt);
    this.afterPending(() => this.beginClose());
  }

  // ---------------------------------------------------------------- helpers

  private destination(name: string, use: 'send' | 'subscribe'): Destination {
    const d = resolveDestination(name, use, this.hub.config.destinationPrefixes);
    if ('error' in d) throw new Refusal(d.error, d.detail);
    return d;
  }

  private replyQueueFor(tempName: string): string {
    const existing = this.replyQueues?.get(tempName);
    if (existing !== undefined) return existing.destination.name;
    const suffix = tempName.slice(TEMP_QUEUE_PREFIX.length);
    if (suffix.length === 0) throw new Refusal('invalid reply-to', `${TEMP_QUEUE_PREFIX} needs a name, e.g. ${TEMP_QUEUE_PREFIX}replies.`);
    if (this.subs?.has(tempName)) throw new Refusal('duplicate subscription', `Subscription id "${tempName}" is already in use.`);
    const name = `${REPLY_QUEUE_PREFIX}${this.hub.config.nodeId}/${this.id}/${suffix}`;
    this.hub.router.openReplyQueue(this.vhost, name);
    const destination: Destination = { kind: 'reply', name, prefixLength: REPLY_QUEUE_PREFIX.length, wildcard: false };
    const sub = this.addSubscription(tempName, destination, 'auto', this.hub.config.maxUnacked);
    this.replyQueues ??= new Map();
    this.replyQueues.set(tempName, sub);
    return name;
  }

  private receipt(id: string): void {
    this.afterPending(() => this.write(encodeFrame('RECEIPT', [['receipt-id', id]], undefined, this.version), false));
  }

  /** Remembers an asynchronous broker operation: later receipts wait for it, a failure is fatal. */
  private track(done: Completion): void {
    if (!(done instanceof Promise)) return;
    this.inflight++;
    const receipt = this.current?.headers.get('receipt');
    // The chain attaches its handler only when earlier operations are done; mark a rejection as
    // handled now, or one that comes first is an unhandled rejection (fatal in Node by default).
    done.catch(() => {});
    this.chain = this.chain.then(
      () => done.then(
        () => {
          this.inflight--;
        },
        (err: unknown) => {
          this.inflight--;
          const refusal = queueRefusal(err) ?? new Refusal('broker unavailable', String(err));
          this.fail(refusal.error, refusal.detail, receipt);
        },
      ),
    );
  }

  /** Runs `fn` once every earlier asynchronous operation has completed. */
  private afterPending(fn: () => void): void {
    if (this.inflight === 0) fn();
    else this.chain = this.chain.then(() => (this.state === 'connected' ? fn() : undefined));
  }

  private failWith(err: unknown): void {
    if (err instanceof Refusal) {
      this.fail(err.error, err.detail, this.current?.headers.get('receipt'), err.extraHeaders);
    } else if (err instanceof StompProtocolError) {
      this.fail(err.message, err.detail, this.current?.headers.get('receipt'));
    } else {
      this.hub.logger.error({ err, session: this.id }, 'internal error while handling a frame');
      this.fail('internal error', 'The broker failed to process the frame; see the broker log.');
    }
  }

  /** Sends ERROR (message header, details in the body) and closes once it is written. */
  fail(message: string, detail: string, receipt?: string, extra: [string, string][] = []): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.hub.metrics.countError(message);
    this.hub.logger.debug({ session: this.id, remote: this.transport.remoteAddress, error: message, detail }, 'closing with ERROR');
    const headers: [string, string][] = [['message', message], ...extra];
    if (receipt !== undefined) headers.push(['receipt-id', receipt]);
    const body = new TextEncoder().encode(detail);
    headers.push(['content-type', 'text/plain;charset=utf-8'], ['content-length', String(body.length)]);
    this.write(encodeFrame('ERROR', headers, body, this.version), false);
    this.beginClose();
  }

  private abortSlowConsumer(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.hub.metrics.slowConsumerDisconnects++;
    const config = this.hub.config;
    // Output the client is not reading is dropped, so the ERROR goes out alone. (Appended to it,
    // the ERROR could overflow again: write -> abort -> fail -> write ... until the stack blew.)
    this.out = [];
    this.outBytes = 0;
    this.outBinary = false;
    this.fail('slow consumer', `More than ${config.maxPendingOutboundBytes} bytes waited to be read (maxPendingOutboundBytes, slowConsumerPolicy=${config.slowConsumerPolicy}).`);
  }

  private beginClose(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.closingSinceMs = this.hub.now();
    this.parser.stop();
    this.release();
    this.endAfterFlush = true;
    this.hub.outbox.addSession(this);
  }

  /** Gives back everything the session holds: subscriptions (requeueing unacked), transactions. */
  private release(): void {
    this.transactions = undefined;
    if (this.subs !== undefined) for (const sub of [...this.subs.values()]) this.dropSubscription(sub);
  }
}

function required(h: Headers, name: string, command: string): string {
  const v = h.get(name);
  if (v === undefined) throw new Refusal('missing header', `${command} requires the "${name}" header.`);
  return v;
}

function parseCount(text: string): number | null {
  if (!/^\d{1,9}$/.test(text)) return null;
  return Number(text);
}

function queueRefusal(err: unknown): Refusal | undefined {
  if (!(err instanceof QueueFullError)) return undefined;
  return new Refusal('queue full', `${err.queue} holds its maximum (${err.limit} = ${err.bound}); the message was not accepted.`);
}
