// STOMP 1.2 over k6's WebSocket API (k6/websockets): framing, a frame splitter for WebSocket
// messages that carry several frames (Stompede batches the frames of one event-loop turn), and a
// connection with event callbacks. Every k6 scenario talks STOMP through this module only.
import { WebSocket, type MessageEvent } from 'k6/websockets';

export interface Frame {
  readonly command: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const escapeValue = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/:/g, '\\c');
const unescapeValue = (v: string): string =>
  v.replace(/\\([\\rnc])/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c === 'c' ? ':' : '\\'));

/** One frame as text. CONNECT headers are not escaped (STOMP 1.2, "Value Encoding"). */
export function encodeFrame(command: string, headers: Readonly<Record<string, string>>, body = ''): string {
  const esc = command === 'CONNECT' ? (v: string) => v : escapeValue;
  let head = `${command}\n`;
  for (const [k, v] of Object.entries(headers)) head += `${esc(k)}:${esc(v)}\n`;
  return `${head}\n${body}\0`;
}

/** Parses the text of one frame (without its NUL). The first of repeated headers wins. */
export function parseFrame(text: string): Frame {
  const blank = text.indexOf('\n\n');
  const head = blank < 0 ? text : text.slice(0, blank);
  const lines = head.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = unescapeValue(line.slice(0, colon));
    if (!(key in headers)) headers[key] = unescapeValue(line.slice(colon + 1));
  }
  return { command: lines[0] ?? '', headers, body: blank < 0 ? '' : text.slice(blank + 2) };
}

/**
 * Splits WebSocket text messages into frames at NUL, keeping a partial frame for the next message.
 * Exact for the load tests' own traffic, whose bodies are ASCII without NUL.
 */
export class FrameSplitter {
  private partial = '';

  push(chunk: string): Frame[] {
    const parts = (this.partial + chunk).split('\0');
    this.partial = parts.pop() ?? '';
    const frames: Frame[] = [];
    for (const part of parts) {
      const text = part.replace(/^[\r\n]+/, ''); // heart-beat EOLs between frames
      if (text.length > 0) frames.push(parseFrame(text));
    }
    return frames;
  }
}

export interface StompHandlers {
  /** CONNECTED arrived, `ms` after the WebSocket was created. */
  onConnected?(frame: Frame, ms: number): void;
  onMessage?(frame: Frame): void;
  onReceipt?(receiptId: string): void;
  onError?(frame: Frame): void;
  /** The socket closed (after an ERROR, a DISCONNECT, or the server going away). */
  onClose?(): void;
  /** The WebSocket failed (refused, reset). */
  onSocketError?(error: string): void;
}

/**
 * CONNECT headers from the environment: -e STOMP_VHOST (default "/", Stompede's default virtual
 * host, whatever name the URL has), -e STOMP_LOGIN and -e STOMP_PASSCODE when set.
 */
export function connectHeadersFromEnv(): Record<string, string> {
  const headers: Record<string, string> = { host: __ENV['STOMP_VHOST'] ?? '/' };
  if (__ENV['STOMP_LOGIN'] !== undefined) headers['login'] = __ENV['STOMP_LOGIN'];
  if (__ENV['STOMP_PASSCODE'] !== undefined) headers['passcode'] = __ENV['STOMP_PASSCODE'];
  return headers;
}

/** One STOMP connection on a k6 WebSocket. CONNECT goes out as soon as the socket opens. */
export class StompSocket {
  readonly ws: WebSocket;
  connected = false;
  closed = false;
  private readonly splitter = new FrameSplitter();

  constructor(url: string, private readonly handlers: StompHandlers, connectHeaders: Readonly<Record<string, string>> = connectHeadersFromEnv()) {
    const started = Date.now();
    // No subprotocol: the STOMP version is negotiated by accept-version, which every broker reads.
    this.ws = new WebSocket(url);
    this.ws.addEventListener('open', () => {
      this.ws.send(encodeFrame('CONNECT', { 'accept-version': '1.2', 'heart-beat': '0,0', ...connectHeaders }));
    });
    this.ws.addEventListener('message', (event) => {
      const data = (event as MessageEvent).data;
      if (typeof data !== 'string') return; // STOMP frames arrive as text
      for (const frame of this.splitter.push(data)) this.dispatch(frame, started);
    });
    this.ws.addEventListener('error', (event) => {
      const error = 'error' in event ? event.error : 'websocket error';
      this.handlers.onSocketError?.(error);
    });
    this.ws.addEventListener('close', () => {
      this.closed = true;
      this.connected = false;
      this.handlers.onClose?.();
    });
  }

  private dispatch(frame: Frame, started: number): void {
    switch (frame.command) {
      case 'CONNECTED':
        this.connected = true;
        this.handlers.onConnected?.(frame, Date.now() - started);
        break;
      case 'MESSAGE':
        this.handlers.onMessage?.(frame);
        break;
      case 'RECEIPT':
        this.handlers.onReceipt?.(frame.headers['receipt-id'] ?? '');
        break;
      case 'ERROR':
        this.handlers.onError?.(frame);
        break;
      default:
        break;
    }
  }

  subscribe(destination: string, id: string, headers: Readonly<Record<string, string>> = {}): void {
    this.ws.send(encodeFrame('SUBSCRIBE', { id, destination, ack: 'auto', ...headers }));
  }

  send(destination: string, headers: Readonly<Record<string, string>>, body: string): void {
    this.ws.send(encodeFrame('SEND', { destination, 'content-type': 'text/plain', ...headers }, body));
  }

  ack(id: string, headers: Readonly<Record<string, string>> = {}): void {
    this.ws.send(encodeFrame('ACK', { id, ...headers }));
  }

  /** DISCONNECT with a receipt; the socket is closed when the RECEIPT arrives (see onReceipt). */
  disconnect(receipt: string): void {
    if (this.closed) return;
    this.ws.send(encodeFrame('DISCONNECT', { receipt }));
  }

  close(): void {
    if (!this.closed) this.ws.close();
  }
}
