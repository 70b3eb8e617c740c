// STOMP over plain TCP (node:net) and over TLS (node:tls, the same socket API on top). The only
// module that touches TCP sockets.
import { createServer, type Server, type ServerOpts, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import type { Hub, Logger, Transport } from '@stompede/session';
import { addressKey, type Admission } from '../admission.js';

/** After we end a connection, how long its peer gets to close before we cut it. */
const LINGER_MS = 5_000;

class TcpTransport implements Transport {
  readonly remoteAddress: string;
  readonly remoteIp: string;

  constructor(
    private readonly socket: Socket,
    readonly kind: 'tcp' | 'tls',
  ) {
    // An IPv4 client of a dual-stack listener shows as ::ffff:a.b.c.d: the same address either way.
    this.remoteIp = (socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
  }

  write(chunks: readonly Uint8Array[]): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    if (chunks.length === 1) {
      this.socket.write(chunks[0]!);
      return;
    }
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
  }

  bufferedBytes(): number {
    return this.socket.writableLength;
  }

  joinGroup(): boolean {
    return false;
  }

  leaveGroup(): void {}

  end(): void {
    if (this.socket.writableEnded) return;
    // FIN after the buffered bytes. We keep reading (and ignoring) until the peer closes: closing
    // with unread input makes the kernel send RST, which can destroy our last ERROR in flight.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }
}

/** How long a connection refused by admission gets to take its ERROR and close: a flood's sockets must not pile up. */
const REFUSED_LINGER_MS = 1_000;

/**
 * A connection refused before it has a session: the ERROR, then FIN. What the peer sends meanwhile
 * is read and dropped (unread input would make the close a reset, which can destroy the ERROR).
 */
function refuse(socket: Socket, error: Uint8Array): void {
  socket.on('error', () => {});
  socket.resume();
  socket.end(error);
  setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
}

/**
 * A connection to the TLS port refused before its handshake: closed at once, without an ERROR,
 * since no STOMP frame can reach a client before TLS is up, and the handshake is the very cost a
 * refusal saves.
 */
function refuseBeforeHandshake(socket: Socket): void {
  socket.on('error', () => {});
  socket.destroy();
}

/**
 * Asks admission about a new TCP socket. Refused: `refuse` ends it, and false. Admitted: counted
 * until the socket closes, whatever happens on it meanwhile (a TLS handshake that fails or times
 * out included: 'close' fires once either way), and true.
 */
function admitted(admission: Admission, socket: Socket, refused: (socket: Socket, error: Uint8Array) => void): boolean {
  if (admission.off) return true;
  const key = addressKey(socket.remoteAddress ?? '');
  const refusal = admission.admit(key);
  if (refusal !== undefined) {
    refused(socket, refusal);
    return false;
  }
  socket.once('close', () => admission.release(key));
  return true;
}

/** The TLS side of a listener: the certificate and key it starts with, and what it reports. */
export interface TlsListenerOptions {
  readonly secure: SecureContextOptions;
  /** Time a client gets to complete the handshake (the CONNECT deadline only starts after it). */
  readonly handshakeTimeoutMs: number;
  /** A client that connected but failed the handshake (wrong protocol, no common cipher, timeout, ...). */
  onHandshakeFailure(): void;
  /** Handshakes in progress at once; past it a new connection is closed before its own (0: no cap). */
  readonly maxHandshakes: number;
  /** A connection was closed because maxHandshakes were in progress. */
  onHandshakesFull(): void;
}

/**
 * Handshakes in progress, without tying a TLS socket to the raw one it wraps: raw sockets open
 * minus secure ones open (they close together).
 */
class HandshakeGate {
  private rawOpen = 0;
  private secureOpen = 0;

  constructor(private readonly max: number) {}

  /** Counts a raw socket until it closes; false (and not counted) when the cap is reached. */
  enter(raw: Socket): boolean {
    if (this.max > 0 && this.rawOpen - this.secureOpen >= this.max) return false;
    this.rawOpen++;
    raw.once('close', () => this.rawOpen--);
    return true;
  }

  /** A handshake completed: its socket no longer counts until it closes. */
  secured(socket: Socket): void {
    this.secureOpen++;
    socket.once('close', () => this.secureOpen--);
  }
}

/**
 * node:tls over the sockets the plain listener admitted (fed in through its 'connection' event):
 * the handshake and its deadline, then `open` with the secure socket.
 */
function secureLayer(tls: TlsListenerOptions, logger: Logger, open: (socket: Socket) => void): TlsServer {
  const server = createTlsServer({ ...tls.secure, handshakeTimeout: tls.handshakeTimeoutMs }, open);
  // Before the handshake completes there is no session: only a log line and a count.
  server.on('tlsClientError', (err, socket) => {
    tls.onHandshakeFailure();
    logger.debug({ err: err.message, remote: socket.remoteAddress }, 'tls handshake failed');
    // node:tls reports a handshake timeout here and leaves the socket open: closing it is ours.
    socket.destroy();
  });
  return server;
}

const SOCKET_OPTIONS: ServerOpts = { noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 };

export class TcpListener {
  /** The listening socket: plain TCP, also for TLS (admission runs on it, before any handshake). */
  private readonly server: Server;
  /** The TLS layer, on TLS listeners: it never listens itself. */
  private readonly tls: TlsServer | undefined;
  private listening = false;

  /** Plain TCP, or TLS when `tls` is given (connections then count as transport "tls"). */
  constructor(
    hub: Hub,
    private readonly bind: string,
    private readonly port: number,
    logger: Logger,
    admission: Admission,
    tls?: TlsListenerOptions,
  ) {
    const kind = tls === undefined ? 'tcp' : 'tls';
    const open = (socket: Socket): void => {
      const session = hub.open(new TcpTransport(socket, kind));
      socket.on('data', (chunk: Buffer) => session.receive(chunk));
      socket.on('drain', () => session.onDrain());
      socket.on('error', (err) => logger.debug({ err: err.message, remote: socket.remoteAddress }, `${kind} socket error`));
      socket.on('close', () => session.onClosed());
    };
    if (tls === undefined) {
      this.server = createServer(SOCKET_OPTIONS, (socket) => {
        if (admitted(admission, socket, refuse)) open(socket);
      });
      return;
    }
    const gate = new HandshakeGate(tls.maxHandshakes);
    const secure = secureLayer(tls, logger, (socket) => {
      gate.secured(socket);
      open(socket);
    });
    this.tls = secure;
    // Admitted on the raw socket, so that a client refused, or one that never completes a
    // handshake, is counted against its address like any other connection.
    this.server = createServer(SOCKET_OPTIONS, (socket) => {
      if (!admitted(admission, socket, refuseBeforeHandshake)) return;
      if (gate.enter(socket)) secure.emit('connection', socket);
      else {
        tls.onHandshakesFull();
        refuseBeforeHandshake(socket);
      }
    });
  }

  /** New connections use this certificate and key; established ones keep theirs. TLS listeners only. */
  setSecureContext(secure: SecureContextOptions): void {
    this.tls?.setSecureContext(secure);
  }

  listen(): Promise<void> {
    if (this.listening) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, this.bind, () => {
        this.server.off('error', reject);
        this.listening = true;
        resolve();
      });
    });
  }

  /** Stops accepting new connections (they are refused); existing ones stay. */
  stopListening(): void {
    if (!this.listening) return;
    this.listening = false;
    this.server.close();
  }
}
