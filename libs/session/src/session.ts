// One client connection's STOMP state machine: CONNECT negotiation, frame dispatch, heart-beats,
// the deliveries to its subscriptions and its lifecycle. Transport-agnostic: it sees bytes through
// `receive` and writes through the Transport interface. What else a frame does lives in one
// collaborator per reason to change: output and backpressure (session-output.ts), authentication
// (session-auth.ts), abuse limits and held input (session-limits.ts), authorization
// (authorization.ts), SEND (publish.ts), SUBSCRIBE/UNSUBSCRIBE and reply queues
// (subscription-table.ts), ACK/NACK (acks.ts), transactions (transactions.ts), asynchronous broker
// completions (completions.ts), refusals and ERROR frames (refusal.ts).
import type { Completion, Message, QueuedMessage } from '@stompede/broker-api';
import { encodeFrame, encodeWithHead, FrameParser, StompProtocolError, type Frame, type Headers, type StompVersion } from '@stompede/stomp';
import { resolveAck, settle, type SettlingSession } from './acks.js';
import { SessionAuthorization, type AuthorizedSession } from './authorization.js';
import { Completions, type CompletionOwner } from './completions.js';
import { negotiateConnect, type Connected } from './connect.js';
import type { Destination } from './destinations.js';
import type { Group, GroupMember, NativeMember } from './group.js';
import type { SessionHost } from './host.js';
import type { Principal } from './principal.js';
import { messageTail, redeliveryLines, textBody } from './message-frame.js';
import { publishSend, refuseOverloaded, type PublishingSession } from './publish.js';
import { RESUME_AFTER } from './resume.js';
import { checkedDestination, errorFrame, Refusal } from './refusal.js';
import { SessionAuth, type AuthenticatedSession } from './session-auth.js';
import { SessionLimits, type HoldReason, type LimitedSession } from './session-limits.js';
import { SessionOutput, type OutputOwner } from './session-output.js';
import type { SubscriberSession, Subscription } from './subscription.js';
import { SubscriptionTable } from './subscription-table.js';
import type { ReadScope } from './topic-index.js';
import { Transactions } from './transactions.js';
import type { Transport } from './transport.js';

import type { SessionState } from './session-state.js';

export type { SessionState };

const EOL = new Uint8Array([0x0a]);
/** A closing connection that does not take its last bytes within this time is cut. */
const CLOSE_LINGER_MS = 5_000;

export class Session
  implements OutputOwner, SettlingSession, CompletionOwner, PublishingSession, GroupMember, NativeMember, SubscriberSession,
    LimitedSession, AuthenticatedSession, AuthorizedSession {
  state: SessionState = 'connecting';
  version: StompVersion = '1.2';
  vhost = '';
  /** The CONNECT frame's login header, for the admin API; undefined when none was sent. */
  login: string | undefined;
  /** Who the session acts for once CONNECT was accepted; undefined before. */
  principal: Principal | undefined;
  /** The principal this connection is counted for in maxConnectionsPerPrincipal (hub.ts releases it). */
  countedPrincipal: string | undefined;
  readonly openedMs: number;
  lastReadMs: number;
  private closingSinceMs = 0;
  /** SEND frames the broker accepted on this connection. */
  sendsAccepted = 0;
  /** Negotiated heart-beat intervals, 0 = off. */
  sendEveryMs = 0;
  expectEveryMs = 0;

  private readonly parser: FrameParser;
  private readonly output: SessionOutput;
  private readonly limits: SessionLimits;
  private current: Frame | undefined;

  /** Collaborators created on first use, so that an idle connection pays nothing for them. */
  private subscriptions: SubscriptionTable | undefined;
  private transactions: Transactions | undefined;
  /** Broker operations that complete asynchronously; receipts wait for them. */
  private completions: Completions | undefined;
  /** Created at CONNECT. */
  private auth: SessionAuth | undefined;
  /** Authorization checks (created on the first SEND or SUBSCRIBE, when the hub has an authorizer). */
  private acl: SessionAuthorization | undefined;
  private nextTag = 0;

  constructor(
    readonly hub: SessionHost,
    readonly transport: Transport,
    readonly id: string,
  ) {
    const now = hub.now();
    this.openedMs = now;
    this.lastReadMs = now;
    this.output = new SessionOutput(this, hub, transport);
    this.parser = new FrameParser(hub.config, this);
    this.limits = new SessionLimits(this, hub, this.parser);
  }

  // ---------------------------------------------------------------- transport events

  /** Bytes from the peer. `chunk` is only valid during this call. */
  receive(chunk: Uint8Array): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.lastReadMs = this.hub.now();
    this.hub.metrics.bytesIn += chunk.length;
    if (this.limits.holding) {
      this.limits.keep(chunk);
      return;
    }
    this.feed(chunk);
  }

  /** @internal Input for the parser: fresh from the transport, or held and now released. */
  feed(chunk: Uint8Array): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    try {
      this.limits.parsed(chunk, this.parser.push(chunk));
    } catch (err) {
      this.failWith(err);
    }
  }

  /** The transport can take more bytes. */
  onDrain(): void {
    this.output.drained();
  }

  /** The socket is gone (closed by either side). */
  onClosed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.parser.stop();
    this.output.close();
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
        if (this.auth!.failIfExpired(now)) return;
        this.wakeThrottled(now);
        if (this.state !== 'connected' || this.limits.failIfFrameTimedOut(now)) return;
        this.heartbeats(now, tickMs);
        return;
      case 'closed':
        return;
    }
  }

  /** Fails a client silent for longer than it promised (and the grace); beats when the server owes one. */
  private heartbeats(now: number, tickMs: number): void {
    const grace = this.hub.config.heartbeatGrace;
    // Held input (publish pressure) is not read, heart-beats included: not the client's silence.
    if (this.expectEveryMs > 0 && !this.limits.holding && now - this.lastReadMs > this.expectEveryMs * grace) {
      this.hub.metrics.heartbeatTimeouts++;
      this.fail(
        'heart-beat timeout',
        `Nothing received for ${now - this.lastReadMs} ms; the negotiated interval is ${this.expectEveryMs} ms and the grace ${grace}x.`,
      );
      return;
    }
    if (this.sendEveryMs > 0 && this.output.queuedBytes === 0 && now - this.output.lastWriteMs >= this.sendEveryMs - tickMs) {
      this.output.write(EOL, false);
    }
  }

  // ---------------------------------------------------------------- held input (session-limits.ts)

  /**
   * @internal A SEND met publish pressure ('pressure') or went over maxSendsPerSecond ('rate'):
   * process no more input until it goes (held-input.ts).
   */
  holdInput(reason: HoldReason = 'pressure'): void {
    this.limits.hold(reason);
  }

  /** Set while over maxSendsPerSecond: when the SEND bucket has tokens again (ms); the hub wakes the session then. */
  get throttledUntilMs(): number {
    return this.limits.throttledUntilMs;
  }

  /** Goes on with the input held for the SEND rate, if its time has come (the hub's throttle timer, or the tick). */
  wakeThrottled(now: number): void {
    this.limits.wake(now);
  }

  /** The publish pressure went: process what was held (which may hold the input again). */
  releaseInput(): void {
    this.limits.release();
  }

  // ---------------------------------------------------------------- output (session-output.ts)

  /** Whether the outbox holds this session's output for the end of the turn. */
  get queuedForFlush(): boolean {
    return this.output.queuedForFlush;
  }

  flushOutput(): void {
    this.output.flushOutput();
  }

  /** Bytes written and not yet taken by the kernel. */
  get pendingBytes(): number {
    return this.output.pendingBytes;
  }

  /** Acked and queue deliveries stop while this is true (credit), and resume on drain. */
  get congested(): boolean {
    return this.output.congested;
  }

  // ---------------------------------------------------------------- introspection (admin API)

  /** This session's subscriptions, reply queues included. */
  subscriptionList(): Iterable<Subscription> {
    return this.subscriptions?.byId.values() ?? [];
  }

  get subscriptionCount(): number {
    return this.subscriptions?.byId.size ?? 0;
  }

  /** Deliveries awaiting ACK or NACK, over all subscriptions. */
  get unackedCount(): number {
    let n = 0;
    for (const sub of this.subscriptionList()) n += sub.unacked.size;
    return n;
  }

  // ---------------------------------------------------------------- deliveries

  /** A frame shared with the rest of an auto-ack group, for members written per socket. */
  deliverShared(frame: Uint8Array, binary: boolean): void {
    if (this.state !== 'connected') return;
    if (this.output.overLimit) {
      if (this.hub.config.slowConsumerPolicy === 'drop') {
        this.hub.metrics.slowConsumerDrops++;
        return;
      }
      this.abortSlowConsumer();
      return;
    }
    this.output.write(frame, binary);
    this.hub.metrics.messagesDelivered++;
  }

  /**
   * Called by native groups as they publish: a socket whose backlog nears the limit is closed as a
   * slow consumer here, where it is counted, before uWS cuts it at the limit without a word.
   */
  checkBacklog(): void {
    if (this.state !== 'connected') return;
    if (this.transport.bufferedBytes() > (this.hub.config.maxPendingOutboundBytes * 3) / 4) this.abortSlowConsumer();
  }

  /**
   * A topic message for a subscription delivered on its own (client-acked or resuming); held while
   * the subscription has no credit or the socket no room.
   */
  deliverTopic(sub: Subscription, message: Message): void {
    if (this.state !== 'connected') return;
    if ((sub.held !== undefined && sub.held.length > 0) || !sub.hasCredit || this.output.congested) {
      this.hold(sub, message, 0, false);
      this.releaseHeld(sub);
      return;
    }
    this.send(sub, message, undefined, 0);
  }

  /** @internal Keeps a topic message on `sub` until it has credit (acks.ts puts redeliveries at the head). */
  hold(sub: Subscription, message: Message, previous: number, atHead: boolean): void {
    if (this.output.congested) this.output.starved = true;
    sub.hold(message, previous, atHead);
    if (sub.heldBytes > this.hub.config.maxPendingOutboundBytes) this.abortSlowConsumer();
  }

  canTake(sub: Subscription): boolean {
    if (this.state !== 'connected' || (sub.acked && !sub.hasCredit)) return false;
    // A draining node leaves shared queues to consumers on other nodes (reply queues stay here).
    if (this.hub.queueTakesPaused && sub.destination.kind === 'queue') return false;
    if (this.output.congested) {
      this.output.starved = true;
      return false;
    }
    return true;
  }

  deliverQueued(sub: Subscription, entry: QueuedMessage): void {
    this.send(sub, entry.message, entry, entry.deliveries);
    if (!sub.acked) this.hub.router.ackEntry(this.vhost, entry);
  }

  /** Called by the router when an auto-ack subscription joins its group. */
  joinGroup(group: Group): void {
    const config = this.hub.config;
    if (config.fanoutMode === 'native' && config.slowConsumerPolicy === 'disconnect' && this.hub.outbox.publisher !== null) {
      // Frames queued before this SUBSCRIBE must not be overtaken by the group's frames.
      this.output.flushOutput();
      // Messages batched for the group this turn were routed before this subscription existed:
      // publish them before this socket joins (a per-socket member would not get them either).
      if (group.dirty) group.flush(this.hub.outbox.publisher);
      if (this.transport.joinGroup(group.topic)) {
        group.addNative(this);
        return;
      }
    }
    group.addMember(this);
  }

  leaveGroup(group: Group): void {
    // A session has at most one subscription per group: the group's key includes the id.
    if (group.isNative(this)) {
      // Messages batched for the group this turn were routed while this subscription was live;
      // publish them while this socket is still a member (it may be the last one).
      const publisher = this.hub.outbox.publisher;
      if (group.dirty && publisher !== null) group.flush(publisher);
      group.removeNative(this);
      // A closing socket keeps its native topics until uWS closes it: leaving its last topic makes
      // uWS discard published messages it has not written yet, which the final RECEIPT/ERROR/close
      // would otherwise drain first.
      if (this.state !== 'closing') this.transport.leaveGroup(group.topic);
    } else {
      group.removeMember(this);
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
    if (sub.resume !== undefined) head += sub.resume.frameLines(message.missedBefore > 0);
    if (entry === undefined) sub.lastMessageId = message.id;
    head += redeliveryLines(previous) + messageTail(message, this.version);
    this.output.write(encodeWithHead(head, message.body), !textBody(message));
    this.hub.metrics.messagesDelivered++;
  }

  /** @internal Sends what waits on `sub` while it has credit and the socket has room. */
  releaseHeld(sub: Subscription): void {
    // A settle can fail the session midway (slow consumer); nothing may follow its ERROR.
    if (this.state !== 'connected') return;
    while (sub.held !== undefined && sub.held.length > 0 && sub.hasCredit) {
      if (this.output.congested) {
        this.output.starved = true;
        return;
      }
      const h = sub.nextHeld()!;
      this.send(sub, h.message, undefined, h.previous);
    }
  }

  /** @internal Called by the output when room comes back after a delivery was refused for lack of it. */
  resumeDeliveries(): void {
    if (this.subscriptions === undefined) return;
    for (const sub of this.subscriptions.byId.values()) {
      if (sub.queue !== undefined) sub.queue.schedule();
      else if (sub.held !== undefined) this.releaseHeld(sub);
    }
  }

  // ---------------------------------------------------------------- frames

  /** @internal The parser's sink: a parsed frame, valid during this call only. */
  onFrame(frame: Frame): void {
    this.hub.metrics.countFrame(frame.command);
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
        // A transaction's SENDs were limited as they arrived, not again at COMMIT.
        if (receipts) this.limits.limitSend(frame);
        if (this.inTransaction(frame)) break;
        this.track(publishSend(frame, this.hub, this.vhost, this, !receipts));
        this.sendsAccepted++;
        break;
      case 'SUBSCRIBE':
        this.subscribed(this.table().subscribe(h), h);
        break;
      case 'UNSUBSCRIBE':
        this.table().unsubscribe(h);
        break;
      case 'ACK':
      case 'NACK': {
        const settlement = resolveAck(frame, this.version, this.subscriptions);
        if (this.inTransaction(frame)) break;
        settle(this, settlement);
        break;
      }
      case 'BEGIN':
        this.openTransactions().begin(h);
        break;
      case 'COMMIT':
        this.commit(h);
        break;
      case 'ABORT':
        this.openTransactions().abort(h);
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

  /** CONNECT or STOMP: negotiated here, then its credentials are checked (session-auth.ts). */
  private connect(frame: Frame): void {
    const result = negotiateConnect(frame.headers, this.hub.config);
    if ('error' in result) throw new Refusal(result.error, result.detail, result.headers);
    this.version = result.version;
    this.parser.version = result.version;
    this.login = frame.headers.get('login');
    (this.auth ??= new SessionAuth(this, this.limits)).authenticate(frame.headers, result);
  }

  /**
   * @internal (session-auth.ts) The CONNECT's credentials were accepted: CONNECTED, unless the
   * principal already has as many connections as it may (session-limits.ts).
   */
  authenticated(result: Connected): void {
    const config = this.hub.config;
    this.vhost = result.vhost;
    this.sendEveryMs = result.sendEveryMs;
    this.expectEveryMs = result.expectEveryMs;
    if (!this.limits.admitPrincipal()) return;
    this.state = 'connected';
    const headers = [...result.headers, ['session', `${config.nodeId}:${this.id}`], ['server', config.serverName]] as [string, string][];
    this.output.write(encodeFrame('CONNECTED', headers), false);
    this.limits.release();
  }

  /** @internal A SEND to TOKEN_REFRESH_DESTINATION (publish.ts): new credentials for the same principal. */
  refreshCredentials(h: Headers): Completion {
    return this.auth!.refresh(h);
  }

  /**
   * Applies a transaction's frames in order. Its own method: a for-of loop in `handle` makes it too
   * large for V8 to inline into `onFrame`, which costs every frame.
   */
  private commit(h: Headers): void {
    const frames = this.openTransactions().commit(h);
    refuseOverloaded(frames, this.hub, this.vhost, this);
    for (const f of frames) {
      // A frame of the transaction can end the connection (a slow consumer while settling): the
      // rest of it is then discarded with the connection, like any uncommitted work.
      if (this.state !== 'connected') return;
      this.handle(f, false);
    }
  }

  /** Buffers a transactional SEND/ACK/NACK; true if it was buffered. */
  private inTransaction(frame: Frame): boolean {
    if (frame.headers.get('transaction') === undefined) return false;
    this.openTransactions().buffer(frame);
    // Checked when received, like everything else a transaction buffers (invariant A4).
    if (frame.command === 'SEND') this.authorizeSend(checkedDestination(frame.headers.get('destination')!, 'send', this.hub.config));
    return true;
  }

  /** @internal (publish.ts) Refuses a SEND to a destination the principal may not publish to. */
  authorizeSend(destination: Destination): void {
    this.authorization()?.checkSend(destination);
  }

  /** @internal (subscription-table.ts) Refuses a forbidden SUBSCRIBE; a wildcard one may come back scoped. */
  authorizeSubscribe(destination: Destination): ReadScope | undefined {
    return this.authorization()?.checkSubscribe(destination);
  }

  /** The session's authorization checks; undefined when the hub has no authorizer (everything is allowed). */
  private authorization(): SessionAuthorization | undefined {
    const authorizer = this.hub.authorizer;
    if (authorizer === undefined) return undefined;
    return (this.acl ??= new SessionAuthorization(this, authorizer, this.hub.metrics));
  }

  private disconnect(receipt: string | undefined): void {
    if (receipt !== undefined) this.receipt(receipt);
    this.afterPending(() => this.beginClose());
  }

  // ---------------------------------------------------------------- helpers

  private table(): SubscriptionTable {
    return (this.subscriptions ??= new SubscriptionTable(this, this.hub));
  }

  /** @internal Where a SEND's `reply-to:/temp-queue/<name>` leads (publish.ts). */
  replyQueueFor(tempName: string): string {
    return this.table().replyQueueFor(tempName);
  }

  private openTransactions(): Transactions {
    return (this.transactions ??= new Transactions(this.hub.config));
  }

  private receipt(id: string): void {
    this.afterPending(() => this.output.write(encodeFrame('RECEIPT', [['receipt-id', id]], undefined, this.version), false));
  }

  /**
   * A SUBSCRIBE whose routing completes later (cluster-wide interest). Its RECEIPT, and a resume's
   * history, wait for it and fail with ERROR. Without either, local delivery is already live and a
   * failure (Redis unreachable) only delays cross-node delivery until the broker retries: the
   * connection is not closed for it.
   */
  private subscribed(done: Completion, h: Headers): void {
    if (!(done instanceof Promise)) return;
    if (h.has('receipt') || h.has(RESUME_AFTER)) this.track(done);
    else done.catch((err: unknown) => this.hub.logger.debug({ session: this.id, err: String(err) }, 'subscription not yet routed cluster-wide'));
  }

  /** Remembers an asynchronous broker operation: later receipts wait for it, a failure is fatal. */
  private track(done: Completion): void {
    if (!(done instanceof Promise)) return;
    (this.completions ??= new Completions(this)).track(done, this.current?.headers.get('receipt'));
  }

  /** Runs `fn` once every earlier asynchronous operation has completed. */
  private afterPending(fn: () => void): void {
    if (this.completions === undefined) fn();
    else this.completions.after(fn);
  }

  // ---------------------------------------------------------------- errors and close

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
    this.output.write(errorFrame(message, detail, receipt, extra, this.version), false);
    this.beginClose();
  }

  /** @internal Closes the session as a slow consumer; the output calls it when it overflows. */
  abortSlowConsumer(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.hub.metrics.slowConsumerDisconnects++;
    const config = this.hub.config;
    // Output the client is not reading is dropped, so the ERROR goes out alone. (Appended to it,
    // the ERROR could overflow again: write -> abort -> fail -> write ... until the stack blew.)
    this.output.discard();
    this.fail('slow consumer', `More than ${config.maxPendingOutboundBytes} bytes waited to be read (maxPendingOutboundBytes, slowConsumerPolicy=${config.slowConsumerPolicy}).`);
  }

  private beginClose(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.closingSinceMs = this.hub.now();
    this.parser.stop();
    this.release();
    this.output.endAfterWritten();
    // Written and ended now, not at the end of the turn: a native member's socket keeps its uWS
    // topics until it ends (leaveGroup), so a group batch published at the end of this turn would
    // reach it ahead of its ERROR, newer than the positions that ERROR names (x-last-message-id).
    this.output.flushOutput();
  }

  /** Gives back everything the session holds: subscriptions (requeueing unacked), transactions. */
  private release(): void {
    this.transactions = undefined;
    this.subscriptions?.dropAll();
  }
}
