// A STOMP client over a raw socket (TCP, or WebSocket through `ws`) that shows exactly what the
// broker sent. Frames are split by @stomp/stompjs's Parser, an implementation independent of ours,
// and header values are left as they came on the wire (escaped). Also the wire-level pieces tests
// use with it: frames built byte for byte, headers read as sent, STOMP 1.2 escapes decoded.
import { once } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { Parser } from '@stomp/stompjs';
import WebSocket from 'ws';

export interface RawFrame {
  readonly command: string;
  /** Header lines as sent: names and values still escaped. */
  readonly headers: readonly [string, string][];
  readonly body: Uint8Array;
}

export type TransportKind = 'tcp' | 'ws';
export const TRANSPORTS: readonly TransportKind[] = ['tcp', 'ws'];

export function header(frame: RawFrame, name: string): string | undefined {
  return frame.headers.find(([k]) => k === name)?.[1];
}

/** All values of header `name`, in wire order (still escaped). */
export function headerAll(f: RawFrame, name: string): string[] {
  return f.headers.filter(([k]) => k === name).map(([, v]) => v);
}

/** Decodes a STOMP 1.2 header name or value as it came on the wire; throws on an undefined escape. */
export function unescape12(raw: string): string {
  return raw.replace(/\\(.?)/gs, (_, c: string) => {
    switch (c) {
      case 'r': return '\r';
      case 'n': return '\n';
      case 'c': return ':';
      case '\\': return '\\';
      default: throw new Error(`undefined escape \\${c} in ${JSON.stringify(raw)}`);
    }
  });
}

export function bodyText(frame: RawFrame): string {
  return Buffer.from(frame.body).toString('utf8');
}

/** Builds frame bytes: `frame('SEND', {destination: '/topic/a'}, 'hi')`. Values are written verbatim. */
export function frame(command: string, headers: Record<string, string> | [string, string][] = {}, body: string | Uint8Array = ''): Buffer {
  const entries = Array.isArray(headers) ? headers : Object.entries(headers);
  const head = command + '\n' + entries.map(([k, v]) => `${k}:${v}\n`).join('') + '\n';
  return Buffer.concat([Buffer.from(head), typeof body === 'string' ? Buffer.from(body) : Buffer.from(body), Buffer.from([0])]);
}

/** `frame()` with every LF of the head replaced by `eol` (e.g. CRLF). */
export function frameWithEol(eol: string, command: string, headers: [string, string][], body: string | Uint8Array = ''): Buffer {
  const head = command + eol + headers.map(([k, v]) => `${k}:${v}${eol}`).join('') + eol;
  return Buffer.concat([Buffer.from(head), Buffer.from(body), Buffer.from([0])]);
}

type Waiter = { pred: (f: RawFrame) => boolean; resolve: (f: RawFrame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class RawClient {
  readonly frames: RawFrame[] = [];
  /** Heart-beat EOLs received. */
  beats = 0;
  /** When each heart-beat EOL arrived (Date.now()), in order. */
  readonly beatTimes: number[] = [];
  /** Time of the last byte received (ms). */
  lastReceiveMs = Date.now();
  closed = false;
  readonly closedPromise: Promise<void>;
  /** WebSocket only: whether each message arrived as binary, in order. */
  readonly messageKinds: ('text' | 'binary')[] = [];
  private readonly parser: Parser;
  private waiters: Waiter[] = [];
  private consumed = 0;
  private resolveClosed!: () => void;
  /** Stops/starts reading from the underlying socket (see pause()). */
  private flow: { pause(): void; resume(): void } | undefined;

  private constructor(private readonly sendRaw: (b: Buffer) => void, private readonly closeRaw: () => void) {
    this.parser = new Parser(
      (raw) => {
        const f: RawFrame = { command: raw.command ?? '', headers: raw.headers as [string, string][], body: raw.binaryBody ?? new Uint8Array(0) };
        this.frames.push(f);
        this.waiters = this.waiters.filter((w) => {
          if (!w.pred(f)) return true;
          clearTimeout(w.timer);
          w.resolve(f);
          return false;
        });
      },
      () => {
        this.beats++;
        this.beatTimes.push(Date.now());
      },
    );
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
  }

  static async tcp(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const socket: Socket = tcpConnect(port, host);
    socket.setNoDelay(true);
    await once(socket, 'connect');
    const c = new RawClient((b) => socket.write(b), () => socket.destroy());
    c.flow = socket;
    socket.on('data', (d: Buffer) => c.onBytes(d));
    socket.on('error', () => {});
    socket.on('close', () => c.onClose());
    return c;
  }

  /**
   * A client over TLS to 127.0.0.1:`port` (`options` name the CA to trust, or turn verification
   * off); resolves once the handshake is done. `socket` shows what was negotiated.
   */
  static async tls(port: number, options: ConnectionOptions = {}): Promise<RawClient & { socket: TLSSocket }> {
    const socket = tlsConnect({ host: '127.0.0.1', port, ...options });
    socket.setNoDelay(true);
    const c = new RawClient((b) => socket.write(b), () => socket.destroy()) as RawClient & { socket: TLSSocket };
    c.socket = socket;
    c.flow = socket;
    socket.on('data', (d: Buffer) => c.onBytes(d));
    socket.on('close', () => c.onClose());
    await once(socket, 'secureConnect');
    socket.on('error', () => {});
    return c;
  }

  /** A client over `kind` to `broker` (a BrokerHandle), not yet connected. */
  static open(kind: TransportKind, broker: { readonly tcpPort: number; readonly wsUrl: string }): Promise<RawClient> {
    return kind === 'tcp' ? RawClient.tcp(broker.tcpPort) : RawClient.ws(broker.wsUrl);
  }

  static async ws(url: string, protocols: string[] = ['v12.stomp', 'v11.stomp', 'v10.stomp']): Promise<RawClient & { protocol: string }> {
    const ws = new WebSocket(url, protocols);
    ws.binaryType = 'nodebuffer';
    const c = new RawClient((b) => ws.send(b), () => ws.terminate()) as RawClient & { protocol: string };
    // ws.pause() pauses the TCP socket under the WebSocket (ws._socket) and keeps ws's own
    // receiver from resuming it: nothing is read, like a stalled browser tab.
    c.flow = ws;
    // Listen before 'open' resolves: ws can emit messages the server sent right at open (e.g. ERROR
    // "too many connections") on process.nextTick, before an `await once(ws, 'open')` resumes.
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      c.messageKinds.push(isBinary ? 'binary' : 'text');
      c.onBytes(data);
    });
    ws.on('error', () => {});
    ws.on('close', () => c.onClose());
    await once(ws, 'open');
    c.protocol = ws.protocol;
    return c;
  }

  send(data: Buffer | string): void {
    this.sendRaw(typeof data === 'string' ? Buffer.from(data) : data);
  }

  /** Sends CONNECT (1.2 by default) and waits for CONNECTED. */
  async connect(headers: Record<string, string> = {}): Promise<RawFrame> {
    this.send(frame('CONNECT', { 'accept-version': '1.2', host: '/', 'heart-beat': '0,0', ...headers }));
    const f = await this.next();
    if (f.command !== 'CONNECTED') throw new Error(`expected CONNECTED, got ${f.command} ${bodyText(f)}`);
    return f;
  }

  /** The next frame not yet returned by next(), waiting for it if needed. */
  async next(timeoutMs = 5000): Promise<RawFrame> {
    if (this.consumed < this.frames.length) return this.frames[this.consumed++]!;
    const f = await this.waitFor(() => true, timeoutMs, true);
    this.consumed = this.frames.indexOf(f) + 1;
    return f;
  }

  /** Waits for a frame matching `pred` (already received ones count). */
  waitFor(pred: (f: RawFrame) => boolean, timeoutMs = 5000, onlyNew = false): Promise<RawFrame> {
    if (!onlyNew) {
      const f = this.frames.find(pred);
      if (f !== undefined) return Promise.resolve(f);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no matching frame within ${timeoutMs} ms; got ${this.frames.map((x) => x.command).join(',')}`));
      }, timeoutMs);
      this.waiters.push({ pred, resolve, reject, timer });
    });
  }

  waitForCommand(command: string, timeoutMs = 5000): Promise<RawFrame> {
    return this.waitFor((f) => f.command === command, timeoutMs);
  }

  /** Resolves when the broker closed the connection; rejects after `timeoutMs`. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.closedPromise,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  /** Sends a frame with a receipt and waits for the RECEIPT. */
  async sendWithReceipt(command: string, headers: Record<string, string>, body = '', timeoutMs = 5000): Promise<RawFrame> {
    const id = `r-${Math.random().toString(36).slice(2)}`;
    const p = this.waitFor((f) => f.command === 'RECEIPT' && header(f, 'receipt-id') === id, timeoutMs);
    this.send(frame(command, { ...headers, receipt: id }, body));
    return p;
  }

  close(): void {
    this.closeRaw();
  }

  /** Stops reading from the socket: the broker's writes back up as for a slow consumer. */
  pause(): void {
    this.flow!.pause();
  }

  /** Reads again after pause(). */
  resume(): void {
    this.flow!.resume();
  }

  private onBytes(d: Buffer): void {
    this.lastReceiveMs = Date.now();
    this.parser.parseChunk(d.buffer.slice(d.byteOffset, d.byteOffset + d.length) as ArrayBuffer);
  }

  private onClose(): void {
    this.closed = true;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error(`connection closed; frames: ${this.frames.map((x) => x.command).join(',')}`));
    }
    this.waiters = [];
    this.resolveClosed();
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
