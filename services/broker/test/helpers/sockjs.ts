// SockJS from the client side: raw HTTP requests to read each transport's framing byte for byte, a
// streaming response reader, and @stomp/stompjs over sockjs-client (which runs in Node too: its
// websocket, xhr and eventsource drivers use Node's http and the faye-websocket/eventsource packages).
import { request, type IncomingHttpHeaders, type ClientRequest } from 'node:http';
import { Client, type StompConfig } from '@stomp/stompjs';
import SockJS from 'sockjs-client';
import { eventually } from './expect.js';

export interface HttpReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP request, answered in full. */
export function http(method: string, url: string, body?: string, headers: Record<string, string> = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: { connection: 'close', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A response read as it streams (xhr_streaming, eventsource, htmlfile, or a held poll). */
export class HttpStream {
  text = '';
  ended = false;
  status = 0;
  headers: IncomingHttpHeaders = {};
  private constructor(private readonly req: ClientRequest) {}

  /** Resolves once the request is sent: a held poll answers (headers included) only when it has a frame. */
  static open(method: string, url: string): Promise<HttpStream> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method, agent: false, headers: { connection: 'close' } }, (res) => {
        s.status = res.statusCode!;
        s.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (d: string) => (s.text += d));
        res.on('end', () => (s.ended = true));
        res.on('error', () => (s.ended = true));
      });
      const s = new HttpStream(req);
      req.on('error', (err) => (s.status === 0 ? reject(err) : (s.ended = true)));
      req.end(() => resolve(s));
    });
  }

  /** Waits until the body so far satisfies `check`. */
  async until(check: (text: string) => boolean, what: string, timeoutMs = 5000): Promise<string> {
    await eventually(() => check(this.text), () => `${what}; got ${JSON.stringify(this.text.slice(-300))}`, timeoutMs);
    return this.text;
  }

  async untilEnded(timeoutMs = 5000): Promise<void> {
    await eventually(() => this.ended, () => `response still open after ${JSON.stringify(this.text.slice(-200))}`, timeoutMs);
  }

  /** Cuts the request as a network failure would. */
  abort(): void {
    this.req.destroy();
  }
}

/** The STOMP frames inside SockJS `a` frames of `text` (one SockJS message may hold several frames). */
export function stompFrames(text: string): string[] {
  const frames: string[] = [];
  for (const m of text.matchAll(/a(\[.*?\])(?:\n|\r\n|$)/g)) {
    for (const message of JSON.parse(m[1]!) as string[]) frames.push(...message.split('\0').filter((f) => f.trim() !== ''));
  }
  return frames.map((f) => f.replace(/^\n+/, ''));
}

/** A STOMP frame as one SockJS message (JSON-encoded). */
export function stomp(command: string, headers: Record<string, string> = {}, body = ''): string {
  const lines = [command, ...Object.entries(headers).map(([k, v]) => `${k}:${v}`)];
  return `${lines.join('\n')}\n\n${body}\0`;
}

export type SockJsTransport = 'websocket' | 'xhr-streaming' | 'xhr-polling' | 'eventsource';
export const SOCKJS_TRANSPORTS: readonly SockJsTransport[] = ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource'];

/** A @stomp/stompjs client over sockjs-client restricted to `transport`, connected. */
export async function connectSockJs(url: string, transport: SockJsTransport, config: StompConfig = {}): Promise<Client> {
  const client = new Client({
    // sockjs-client's own transport timeout (about 300 ms per round trip after a fast /info) fails
    // connects on a loaded machine with 2000 "All transports failed".
    webSocketFactory: () => new SockJS(url, null, { transports: [transport], timeout: 10_000 }),
    reconnectDelay: 0,
    debug: () => {},
    ...config,
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no CONNECTED over SockJS ${transport} within 10 s`)), 10_000);
    client.onConnect = () => {
      clearTimeout(timer);
      resolve();
    };
    client.onStompError = (f) => reject(new Error(`STOMP ERROR: ${f.headers['message']} ${f.body}`));
    client.onWebSocketClose = (e: { code?: number; reason?: string }) => reject(new Error(`SockJS ${transport} closed: ${e.code} ${e.reason}`));
    client.activate();
  });
  return client;
}

/** The SockJS base URL of a broker (default path). */
export function sockjsUrl(httpUrl: string, path = '/sockjs'): string {
  return `${httpUrl}${path}`;
}
