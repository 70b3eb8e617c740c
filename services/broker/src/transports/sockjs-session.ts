// One SockJS session over HTTP (xhr-polling, xhr-streaming, eventsource, htmlfile): the Transport
// the STOMP session writes to. Its bytes wait in a bounded queue until a receiving request takes
// them; the session is over when no receiving request comes for disconnectDelayMs, when one is cut
// by the network, or when the STOMP side ends it. Either way the STOMP session closes the normal
// way (onClosed): subscriptions dropped, unacked messages redelivered.
import type { Hub, Session, Transport } from '@stompede/session';
import { ANOTHER_CONNECTION, encodeMessage, GO_AWAY, HEARTBEAT, INTERRUPTED, messagesFrame, OPEN } from './sockjs-frames.js';

/** A receiving HTTP request, as the session sees it. */
export interface Receiver {
  /** Sends one frame; false when the request is finished by it (a poll, or a stream at its limit). */
  send(frame: string): boolean;
  /** Bytes handed to the response and not yet taken by the kernel. */
  bufferedBytes(): number;
  /** Ends the response. */
  finish(): void;
}

export interface SockJsTimings {
  readonly heartbeatMs: number;
  readonly disconnectDelayMs: number;
}

const decoder = new TextDecoder();

export class SockJsSession implements Transport {
  readonly kind = 'sockjs';
  readonly session: Session;
  private queue: string[] = [];
  private queuedBytes = 0;
  private receiver: Receiver | undefined;
  /** Set once the session is over: every later receiving request gets it. */
  private closeFrame: string | undefined;
  /** end() was called: the close frame follows what is queued. */
  private ending = false;
  private opened = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private disconnect: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    readonly remoteAddress: string,
    hub: Hub,
    private readonly timings: SockJsTimings,
    /** Called once the session can be forgotten (closed, and its close frame had time to be fetched). */
    private readonly forget: (s: SockJsSession) => void,
  ) {
    this.session = hub.open(this);
    this.armDisconnect();
  }

  /** uWS gives the address without a port. */
  get remoteIp(): string {
    return this.remoteAddress;
  }

  // ------------------------------------------------------------ Transport (the STOMP side)

  write(chunks: readonly Uint8Array[]): void {
    if (this.closeFrame !== undefined || this.ending) return;
    // SockJS carries text: STOMP frames are decoded as UTF-8 (docs/browser.md, binary bodies).
    let text = '';
    for (const c of chunks) text += decoder.decode(c, { stream: true });
    text += decoder.decode();
    const encoded = encodeMessage(text);
    this.queue.push(encoded);
    this.queuedBytes += encoded.length;
    this.flush();
  }

  bufferedBytes(): number {
    return this.queuedBytes + (this.receiver?.bufferedBytes() ?? 0);
  }

  joinGroup(): boolean {
    return false;
  }

  leaveGroup(): void {}

  end(): void {
    if (this.closeFrame !== undefined || this.ending) return;
    this.ending = true;
    this.flush();
  }

  destroy(): void {
    if (this.closeFrame !== undefined) return;
    this.queue = [];
    this.queuedBytes = 0;
    this.close(GO_AWAY);
  }

  // ------------------------------------------------------------ receiving requests

  /** A receiving request arrived for this session. */
  attach(r: Receiver): void {
    if (this.receiver !== undefined) {
      // The protocol allows one receiving request at a time; the newcomer is told and sent away.
      r.send(ANOTHER_CONNECTION);
      r.finish();
      return;
    }
    clearTimeout(this.disconnect);
    this.receiver = r;
    if (!this.opened) {
      this.opened = true;
      if (!this.deliver(OPEN)) return;
    }
    const hadQueue = this.queuedBytes > 0;
    this.flush();
    if (this.receiver === r) this.armHeartbeat();
    // Output held back for lack of a reader goes on (deferred: we may be inside a session write).
    if (hadQueue) queueMicrotask(() => this.session.onDrain());
  }

  /** The receiving request ended: `aborted` when the network cut it rather than we ending it. */
  detach(r: Receiver, aborted: boolean): void {
    if (this.receiver !== r) return;
    this.receiver = undefined;
    clearInterval(this.heartbeat);
    if (aborted && this.closeFrame === undefined) this.close(INTERRUPTED);
    else this.armDisconnect();
  }

  /** The receiving request took everything it was given: more may follow. */
  writable(): void {
    this.flush();
    queueMicrotask(() => this.session.onDrain());
  }

  get isClosed(): boolean {
    return this.closeFrame !== undefined;
  }

  /** Messages a client sent (xhr_send), in order. */
  receive(messages: readonly string[]): void {
    for (const m of messages) if (m.length > 0) this.session.receive(Buffer.from(m, 'utf8'));
  }

  // ------------------------------------------------------------ internals

  private flush(): void {
    const r = this.receiver;
    if (r === undefined) return;
    if (this.queue.length > 0 && r.bufferedBytes() === 0) {
      const frame = messagesFrame(this.queue);
      this.queue = [];
      this.queuedBytes = 0;
      if (!this.deliver(frame)) return;
    }
    if (this.ending && this.queue.length === 0) this.close(GO_AWAY);
  }

  /** Sends a frame to the receiver; false when that finished the request. */
  private deliver(frame: string): boolean {
    const r = this.receiver!;
    if (r.send(frame)) return true;
    this.receiver = undefined;
    clearInterval(this.heartbeat);
    r.finish();
    if (this.closeFrame === undefined) this.armDisconnect();
    return false;
  }

  /** The session is over: the receiver (if any) gets the close frame, the STOMP session closes. */
  private close(frame: string): void {
    this.closeFrame = frame;
    const r = this.receiver;
    this.receiver = undefined;
    clearInterval(this.heartbeat);
    if (r !== undefined) {
      r.send(frame);
      r.finish();
    }
    this.session.onClosed();
    // Polls within the delay keep getting the close frame; then the id is forgotten.
    clearTimeout(this.disconnect);
    this.disconnect = setTimeout(() => this.forget(this), this.timings.disconnectDelayMs);
    this.disconnect.unref();
  }

  private armDisconnect(): void {
    clearTimeout(this.disconnect);
    this.disconnect = setTimeout(() => {
      if (this.closeFrame === undefined) this.close(GO_AWAY);
    }, this.timings.disconnectDelayMs);
    this.disconnect.unref();
  }

  private armHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (this.receiver !== undefined && this.receiver.bufferedBytes() === 0) this.deliver(HEARTBEAT);
    }, this.timings.heartbeatMs);
    this.heartbeat.unref();
  }

  /** A receiving request for a session that is over. */
  answerClosed(r: Receiver): void {
    r.send(this.closeFrame ?? GO_AWAY);
    r.finish();
  }
}
