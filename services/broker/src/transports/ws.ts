// STOMP over WebSocket on uWebSockets.js, plus the node's HTTP endpoints on the same port.
// The only module that touches uWS sockets.
import type { Hub, Session, Transport } from '@stompede/session';
import type { HttpResponse, TemplatedApp, WebSocket, WebSocketBehavior, us_listen_socket } from 'uWebSockets.js';
import { addressKey, type Admission } from '../admission.js';
import type { UwsModule } from '../uws.js';

/** STOMP subprotocols in preference order (STOMP 1.2 spec, "WebSocket"). */
const SUBPROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'];

/** uWS user data: uWS copies the object's own properties, so it holds no methods. */
interface SocketData {
  remote: string;
  transport: WsTransport | undefined;
  /** The address counted by admission (released at close), or undefined when not counted. */
  admitted: string | undefined;
  /** Admission refused the connection: this ERROR is its only frame. */
  refusal: Uint8Array | undefined;
}

/** One WebSocket connection's glue. */
class WsTransport implements Transport {
  closed = false;
  readonly session: Session;

  constructor(
    private readonly ws: WebSocket<SocketData>,
    readonly remoteAddress: string,
    hub: Hub,
  ) {
    this.session = hub.open(this);
  }

  get kind(): string {
    return 'ws';
  }

  /** uWS gives the address without a port. */
  get remoteIp(): string {
    return this.remoteAddress;
  }

  write(chunks: readonly Uint8Array[], bytes: number, binary: boolean): void {
    if (this.closed) return;
    const data = chunks.length === 1 ? chunks[0]! : concat(chunks, bytes);
    // Writes happen outside uWS callbacks (end-of-turn flush), where sockets are not corked.
    this.ws.cork(() => this.ws.send(data, binary));
  }

  bufferedBytes(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }

  joinGroup(topic: string): boolean {
    if (this.closed) return false;
    this.ws.subscribe(topic);
    return true;
  }

  leaveGroup(topic: string): void {
    if (!this.closed) this.ws.unsubscribe(topic);
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    // Sends a close frame after everything already queued, so the last ERROR/RECEIPT arrives.
    this.ws.end(1000);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close();
  }
}

export interface WsListenerOptions {
  readonly uws: UwsModule;
  readonly hub: Hub;
  readonly bind: string;
  readonly port: number;
  readonly path: string;
  readonly maxFrameBytes: number;
  readonly maxPendingOutboundBytes: number;
  readonly closeOnBackpressure: boolean;
  readonly idleTimeoutSec: number;
  readonly admission: Admission;
  readonly health: () => { live: boolean; ready: boolean };
  readonly metrics: () => Promise<{ contentType: string; body: string }>;
  /** More paths serving plain STOMP over WebSocket (SockJS's raw `/websocket`). */
  readonly extraPaths?: readonly string[];
  /** Registers more routes on the same app (SockJS, the demo page), ahead of the 404 catch-all. */
  readonly mount?: (app: TemplatedApp) => void;
}

export class WsListener {
  readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | undefined;
  /**
   * False while the node drains: WebSocket upgrades get 503, while /healthz, /readyz and /metrics on
   * the same port keep answering (closing the port would fail liveness probes mid-drain).
   */
  accepting = true;

  constructor(private readonly o: WsListenerOptions) {
    const { uws, hub } = o;
    this.app = uws.App();
    const behavior: WebSocketBehavior<SocketData> = {
      compression: uws.DISABLED,
      // Room for one maximal frame plus change: a larger single STOMP frame still reaches the
      // parser and gets a proper ERROR naming maxFrameBytes. Beyond this uWS closes with 1009.
      maxPayloadLength: o.maxFrameBytes * 2,
      maxBackpressure: o.maxPendingOutboundBytes,
      closeOnBackpressureLimit: o.closeOnBackpressure ? 1 : 0,
      idleTimeout: o.idleTimeoutSec,
      sendPingsAutomatically: o.idleTimeoutSec > 0,
      upgrade: (res, req, context) => {
        if (!this.accepting) {
          res.writeStatus('503 Service Unavailable').writeHeader('retry-after', '1').end('node draining: connect to another node\n');
          return;
        }
        const offered = req.getHeader('sec-websocket-protocol').split(',').map((p) => p.trim());
        const protocol = SUBPROTOCOLS.find((p) => offered.includes(p)) ?? '';
        const remote = Buffer.from(res.getRemoteAddressAsText()).toString();
        // Admitted at the upgrade, before a session exists; a refused client still gets a STOMP
        // ERROR (browsers cannot read an HTTP status of a failed WebSocket), and nothing else.
        const key = o.admission.off ? undefined : addressKey(remote);
        const refusal = key === undefined ? undefined : o.admission.admit(key);
        res.upgrade<SocketData>(
          { remote, transport: undefined, admitted: refusal === undefined ? key : undefined, refusal },
          req.getHeader('sec-websocket-key'),
          protocol,
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      open: (ws) => {
        const data = ws.getUserData();
        if (data.refusal !== undefined) {
          ws.send(data.refusal, false);
          ws.end(1008);
          return;
        }
        data.transport = new WsTransport(ws, data.remote, hub);
      },
      message: (ws, message) => {
        // A view, not a copy: uWS neuters the ArrayBuffer when this callback returns.
        ws.getUserData().transport?.session.receive(new Uint8Array(message));
      },
      drain: (ws) => {
        ws.getUserData().transport?.session.onDrain();
      },
      close: (ws) => {
        // Do not touch `ws` here beyond its user data: uWS throws on most calls in close.
        const admitted = ws.getUserData().admitted;
        if (admitted !== undefined) o.admission.release(admitted);
        const transport = ws.getUserData().transport;
        if (transport === undefined) return;
        transport.closed = true;
        transport.session.onClosed();
      },
    };
    for (const path of [o.path, ...(o.extraPaths ?? [])]) this.app.ws<SocketData>(path, behavior);
    this.app.get('/healthz', (res) => {
      const h = o.health();
      reply(res, h.live ? '200 OK' : '503 Service Unavailable', h.live ? 'ok\n' : 'not live\n');
    });
    this.app.get('/readyz', (res) => {
      const h = o.health();
      reply(res, h.ready ? '200 OK' : '503 Service Unavailable', h.ready ? 'ready\n' : 'not ready\n');
    });
    this.app.get('/metrics', (res) => {
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      o.metrics().then(
        (m) => {
          if (!aborted) res.cork(() => res.writeHeader('content-type', m.contentType).end(m.body));
        },
        () => {
          if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end());
        },
      );
    });
    o.mount?.(this.app);
    this.app.any('/*', (res) => reply(res, '404 Not Found', 'not found\n'));
  }

  /** Native publish to every socket of a group, in C++. */
  publish(topic: string, bytes: Uint8Array, binary: boolean): void {
    this.app.publish(topic, bytes, binary);
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.app.listen(this.o.bind, this.o.port, (socket) => {
        if (socket === false) reject(new Error(`cannot listen on ${this.o.bind}:${this.o.port} (WebSocket)`));
        else {
          this.listenSocket = socket;
          resolve();
        }
      });
    });
  }

  /** Stops accepting new connections; existing ones stay. */
  stopListening(): void {
    if (this.listenSocket !== undefined) {
      this.o.uws.us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
  }
}

function reply(res: HttpResponse, status: string, body: string): void {
  res.writeStatus(status).writeHeader('content-type', 'text/plain').end(body);
}

function concat(chunks: readonly Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
