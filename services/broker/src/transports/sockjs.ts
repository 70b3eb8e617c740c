// SockJS (protocol 0.3.3) on the uWS app that serves the WebSocket endpoint: /info, the framed
// `websocket` transport, xhr-polling, xhr-streaming, eventsource and htmlfile, plus the raw
// `/websocket` (plain STOMP over WebSocket, registered by the WebSocket listener). The HTTP
// transports keep their session in this node's table: a SockJS session lives on one node, so a
// cluster needs sticky routing for them (docs/browser.md).
import { randomInt } from 'node:crypto';
import type { Hub } from '@stompede/session';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { addressKey, type Admission } from '../admission.js';
import type { UwsModule } from '../uws.js';
import { BrokenJson, CALLBACK, closeFrame, encodeMessage, messagesFrame, OPEN, EVENTSOURCE, htmlfile, parseClientMessages, XHR, XHR_STREAMING, type Envelope } from './sockjs-frames.js';
import { SockJsSession, type Receiver } from './sockjs-session.js';
import { SockJsWsTransport, type SockJsSocketData } from './sockjs-ws.js';

export interface SockJsOptions {
  readonly uws: UwsModule;
  readonly hub: Hub;
  /** Base URL path, e.g. /sockjs. */
  readonly prefix: string;
  readonly heartbeatMs: number;
  readonly disconnectDelayMs: number;
  /** A streaming response is ended (and the client opens another) after this many bytes. */
  readonly responseLimitBytes: number;
  readonly maxFrameBytes: number;
  readonly maxPendingOutboundBytes: number;
  readonly maxSessions: number;
  readonly idleTimeoutSec: number;
  /** False while the node drains: new sessions are refused with 503. */
  readonly accepting: () => boolean;
  /** Per-address connection limits: a SockJS session counts as a connection of its address. */
  readonly admission: Admission;
}

const NO_CACHE = 'no-store, no-cache, must-revalidate, max-age=0';
const YEAR_SEC = 31_536_000;
const decoder = new TextDecoder();
/** server and session path segments: anything but empty, slashes or dots. */
const SESSION_PATH = /^\/([^/.]+)\/([^/.]+)\/([a-z_]+)$/;
const RECEIVERS: Record<string, { method: string; envelope: (req: HttpRequest) => Envelope | string }> = {
  xhr: { method: 'post', envelope: () => XHR },
  xhr_streaming: { method: 'post', envelope: () => XHR_STREAMING },
  eventsource: { method: 'get', envelope: () => EVENTSOURCE },
  htmlfile: {
    method: 'get',
    envelope: (req) => {
      const c = req.getQuery('c') ?? '';
      return CALLBACK.test(c) ? htmlfile(c) : '"callback" parameter required';
    },
  },
};

/** Request facts read synchronously (uWS requests are only valid during the handler). */
interface RequestInfo {
  readonly origin: string;
  readonly requestHeaders: string;
  readonly remote: string;
}

export class SockJsEndpoint {
  private readonly sessions = new Map<string, SockJsSession>();

  constructor(private readonly o: SockJsOptions) {}

  /** Registers the routes; call before any catch-all route. */
  mount(app: TemplatedApp): void {
    const { prefix } = this.o;
    app.ws<SockJsSocketData>(`${prefix}/:server/:session/websocket`, {
      compression: this.o.uws.DISABLED,
      // JSON can double a frame (escapes); past this uWS closes with 1009.
      maxPayloadLength: this.o.maxFrameBytes * 2 + 64,
      maxBackpressure: this.o.maxPendingOutboundBytes,
      idleTimeout: this.o.idleTimeoutSec,
      sendPingsAutomatically: this.o.idleTimeoutSec > 0,
      upgrade: (res, req, context) => {
        if (!this.o.accepting()) {
          res.writeStatus('503 Service Unavailable').writeHeader('retry-after', '1').end('node draining: connect to another node\n');
          return;
        }
        if (req.getParameter(0)!.includes('.') || req.getParameter(1)!.includes('.')) {
          res.writeStatus('404 Not Found').end();
          return;
        }
        const remote = Buffer.from(res.getRemoteAddressAsText()).toString();
        const key = this.o.admission.off ? undefined : addressKey(remote);
        const refusal = key === undefined ? undefined : this.o.admission.admit(key);
        res.upgrade<SockJsSocketData>(
          { remote, transport: undefined, admitted: refusal === undefined ? key : undefined, refusal },
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      open: (ws) => {
        const data = ws.getUserData();
        if (data.refusal !== undefined) {
          // As on the plain WebSocket endpoint: the refused client reads a STOMP ERROR, in SockJS framing.
          ws.send(`${OPEN}${messagesFrame([encodeMessage(decoder.decode(data.refusal))])}${closeFrame(3000, 'Go away!')}`, false);
          ws.end(1000);
          return;
        }
        data.transport = new SockJsWsTransport(ws, data.remote, this.o.hub, this.o.heartbeatMs);
      },
      message: (ws, message) => ws.getUserData().transport?.receive(message),
      drain: (ws) => ws.getUserData().transport?.session.onDrain(),
      close: (ws) => {
        const data = ws.getUserData();
        if (data.admitted !== undefined) this.o.admission.release(data.admitted);
        data.transport?.onClosed();
      },
    });
    const handle = (res: HttpResponse, req: HttpRequest): void => this.route(res, req);
    app.any(prefix, handle);
    app.any(`${prefix}/*`, handle);
  }

  private route(res: HttpResponse, req: HttpRequest): void {
    const rest = req.getUrl().slice(this.o.prefix.length);
    const method = req.getMethod();
    const info: RequestInfo = {
      origin: req.getHeader('origin'),
      requestHeaders: req.getHeader('access-control-request-headers'),
      remote: Buffer.from(res.getRemoteAddressAsText()).toString(),
    };
    if (rest === '' || rest === '/') {
      if (method !== 'get') return notAllowed(res, 'GET');
      return void res.writeHeader('content-type', 'text/plain; charset=UTF-8').end('Welcome to SockJS!\n');
    }
    if (rest === '/info') {
      if (method === 'options') return options(res, info, 'OPTIONS, GET');
      if (method !== 'get') return notAllowed(res, 'OPTIONS, GET');
      return this.info(res, info);
    }
    if (rest === '/websocket' || rest.endsWith('/websocket')) {
      // A WebSocket route takes upgrades; what reaches here is a plain request.
      if (method !== 'get') return notAllowed(res, 'GET');
      return void res.writeStatus('400 Bad Request').end('Can "Upgrade" only to "WebSocket".');
    }
    const m = SESSION_PATH.exec(rest);
    if (m === null) return void res.writeStatus('404 Not Found').end();
    const transport = m[3]!;
    if (transport === 'xhr_send') {
      if (method === 'options') return options(res, info, 'OPTIONS, POST');
      if (method !== 'post') return notAllowed(res, 'OPTIONS, POST');
      return this.xhrSend(res, info, m[2]!);
    }
    const receiver = RECEIVERS[transport];
    if (receiver === undefined) return void res.writeStatus('404 Not Found').end();
    if (method === 'options' && receiver.method === 'post') return options(res, info, 'OPTIONS, POST');
    if (method !== receiver.method) return notAllowed(res, receiver.method === 'post' ? 'OPTIONS, POST' : 'GET');
    const envelope = receiver.envelope(req);
    if (typeof envelope === 'string') return void res.writeStatus('500 Internal Server Error').end(envelope);
    this.receive(res, info, m[2]!, envelope);
  }

  private info(res: HttpResponse, info: RequestInfo): void {
    const body = JSON.stringify({ websocket: true, cookie_needed: false, origins: ['*:*'], entropy: randomInt(0, 2 ** 32 - 1) });
    cors(res, info).writeHeader('cache-control', NO_CACHE).writeHeader('content-type', 'application/json; charset=UTF-8').end(body);
  }

  /** A receiving request: opens the session when the id is new. */
  private receive(res: HttpResponse, info: RequestInfo, id: string, envelope: Envelope): void {
    let session = this.sessions.get(id);
    if (session === undefined) {
      if (!this.o.accepting() || this.sessions.size >= this.o.maxSessions) {
        res.writeStatus('503 Service Unavailable').writeHeader('retry-after', '1').end('no new SockJS sessions on this node now\n');
        return;
      }
      const key = this.o.admission.off ? undefined : addressKey(info.remote);
      const refusal = key === undefined ? undefined : this.o.admission.admit(key);
      if (refusal !== undefined) {
        // No session is opened: the status and the ERROR's text say which limit (docs/security.md, Limits).
        res.writeStatus('429 Too Many Requests').writeHeader('retry-after', '1').writeHeader('content-type', 'text/plain; charset=UTF-8').end(decoder.decode(refusal));
        return;
      }
      session = new SockJsSession(id, info.remote, this.o.hub, this.o, (s) => {
        if (this.sessions.get(s.id) === s) this.sessions.delete(s.id);
        if (key !== undefined) this.o.admission.release(key);
      });
      this.sessions.set(id, session);
    }
    cors(res, info).writeHeader('cache-control', NO_CACHE).writeHeader('content-type', envelope.contentType);
    // nginx (and ingress-nginx) buffer proxied responses by default, which would hold a stream back.
    if (envelope.streaming) res.writeHeader('x-accel-buffering', 'no');
    const receiver = new HttpReceiver(res, envelope, this.o.responseLimitBytes);
    const s = session;
    res.onAborted(() => {
      receiver.aborted();
      s.detach(receiver, true);
    });
    res.onWritable(() => {
      receiver.drained();
      s.writable();
      return true;
    });
    receiver.start();
    if (s.isClosed) s.answerClosed(receiver);
    else s.attach(receiver);
  }

  private xhrSend(res: HttpResponse, info: RequestInfo, id: string): void {
    const limit = this.o.maxFrameBytes * 2 + 64;
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    res.onAborted(() => (done = true));
    res.onData((chunk, last) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > limit) {
        done = true;
        res.cork(() => res.writeStatus('413 Payload Too Large').end(`SockJS payload over ${limit} bytes (2 x STOMPEDE_MAX_FRAME_BYTES)\n`));
        return;
      }
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (!last) return;
      done = true;
      res.cork(() => this.deliver(res, info, id, Buffer.concat(chunks).toString('utf8')));
    });
  }

  private deliver(res: HttpResponse, info: RequestInfo, id: string, payload: string): void {
    const session = this.sessions.get(id);
    if (session === undefined || session.isClosed) return void res.writeStatus('404 Not Found').end();
    if (payload.length === 0) return void res.writeStatus('500 Internal Server Error').end('Payload expected.');
    let messages: string[];
    try {
      messages = parseClientMessages(payload);
      if (!payload.trimStart().startsWith('[')) throw new BrokenJson('Broken JSON encoding.');
    } catch (err) {
      return void res.writeStatus('500 Internal Server Error').end((err as Error).message);
    }
    cors(res.writeStatus('204 No Content'), info)
      .writeHeader('cache-control', NO_CACHE)
      .writeHeader('content-type', 'text/plain; charset=UTF-8')
      .endWithoutBody();
    session.receive(messages);
  }
}

/** One receiving HTTP response. */
class HttpReceiver implements Receiver {
  private ended = false;
  private written = 0;
  private backlog = 0;

  constructor(
    private readonly res: HttpResponse,
    private readonly envelope: Envelope,
    private readonly limitBytes: number,
  ) {}

  start(): void {
    const prelude = this.envelope.prelude();
    if (prelude.length > 0) this.res.write(prelude);
  }

  send(frame: string): boolean {
    if (this.ended) return false;
    const data = this.envelope.wrap(frame);
    if (!this.envelope.streaming) {
      this.ended = true;
      this.res.cork(() => this.res.end(data));
      return false;
    }
    let ok = true;
    this.res.cork(() => (ok = this.res.write(data)));
    this.backlog = ok ? 0 : this.backlog + data.length;
    this.written += data.length;
    return this.written < this.limitBytes;
  }

  bufferedBytes(): number {
    return this.backlog;
  }

  finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.res.cork(() => this.res.end());
  }

  aborted(): void {
    this.ended = true;
  }

  drained(): void {
    this.backlog = 0;
  }
}

function cors(res: HttpResponse, info: RequestInfo): HttpResponse {
  res.writeHeader('access-control-allow-origin', info.origin !== '' && info.origin !== 'null' ? info.origin : '*');
  res.writeHeader('access-control-allow-credentials', 'true');
  if (info.requestHeaders !== '') res.writeHeader('access-control-allow-headers', info.requestHeaders);
  return res;
}

function options(res: HttpResponse, info: RequestInfo, methods: string): void {
  res.writeStatus('204 No Content');
  cors(res, info)
    .writeHeader('cache-control', `public, max-age=${YEAR_SEC}`)
    .writeHeader('expires', new Date(Date.now() + YEAR_SEC * 1000).toUTCString())
    .writeHeader('access-control-max-age', String(YEAR_SEC))
    .writeHeader('access-control-allow-methods', methods)
    .endWithoutBody();
}

function notAllowed(res: HttpResponse, allow: string): void {
  res.writeStatus('405 Method Not Allowed').writeHeader('allow', allow).endWithoutBody();
}
