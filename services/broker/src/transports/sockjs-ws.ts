// The SockJS `websocket` transport: a WebSocket carrying SockJS frames (o, h, a[...], c[...]) in
// both directions. One connection is one session; it is not resumable, so no session id table.
import type { Hub, Session, Transport } from '@stompede/session';
import type { WebSocket } from 'uWebSockets.js';
import { encodeMessage, GO_AWAY, HEARTBEAT, messagesFrame, OPEN, parseClientMessages } from './sockjs-frames.js';

export interface SockJsSocketData {
  remote: string;
  transport: SockJsWsTransport | undefined;
  /** The address counted by admission (released at close), or undefined when not counted. */
  admitted: string | undefined;
  /** The STOMP ERROR of a connection admission refused: sent as the only message, then the close. */
  refusal: Uint8Array | undefined;
}

const decoder = new TextDecoder();

export class SockJsWsTransport implements Transport {
  readonly kind = 'sockjs';
  closed = false;
  readonly session: Session;
  private readonly heartbeat: NodeJS.Timeout;
  private lastSendMs = Date.now();

  constructor(
    private readonly ws: WebSocket<SockJsSocketData>,
    readonly remoteAddress: string,
    hub: Hub,
    heartbeatMs: number,
  ) {
    ws.send(OPEN, false);
    this.session = hub.open(this);
    this.heartbeat = setInterval(() => {
      if (!this.closed && Date.now() - this.lastSendMs >= heartbeatMs / 2) this.send(HEARTBEAT);
    }, heartbeatMs);
    this.heartbeat.unref();
  }
  /** uWS gives the address without a port. */
  get remoteIp(): string {
    return this.remoteAddress;
  }

  write(chunks: readonly Uint8Array[]): void {
    if (this.closed) return;
    let text = '';
    for (const c of chunks) text += decoder.decode(c, { stream: true });
    text += decoder.decode();
    this.send(messagesFrame([encodeMessage(text)]));
  }

  /** A WebSocket message from the client: JSON messages, or broken input that cuts the connection. */
  receive(data: ArrayBuffer): void {
    if (data.byteLength === 0) return;
    let messages: string[];
    try {
      messages = parseClientMessages(decoder.decode(data));
    } catch {
      this.destroy();
      return;
    }
    for (const m of messages) if (m.length > 0) this.session.receive(Buffer.from(m, 'utf8'));
  }

  bufferedBytes(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }

  joinGroup(): boolean {
    return false;
  }

  leaveGroup(): void {}

  end(): void {
    if (this.closed) return;
    this.send(GO_AWAY);
    this.closed = true;
    this.ws.end(1000);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close();
  }

  /** The socket is gone. */
  onClosed(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.session.onClosed();
  }

  private send(frame: string): void {
    this.lastSendMs = Date.now();
    this.ws.cork(() => this.ws.send(frame, false));
  }
}
