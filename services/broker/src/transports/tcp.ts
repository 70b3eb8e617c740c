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

/** The TLS side of a listener: the certificate and key it starts with, and what it reports. */
export interface TlsListenerOptions {
  readonly secure: SecureContextOptions;
  /** Time a client gets to complete the handshake (the CONNECT deadline only starts after it). */
  readonly handshakeTimeoutMs: number;
  /** A client that connected but failed the handshake (wrong protocol, no common cipher, ...). */
  onHandshakeFailure(): void;
}

const SOCKET_OPTIONS: ServerOpts = { noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 };

export class TcpListener {
  private readonly server: Server;
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
    const onSocket = (socket: Socket): void => {
      if (!admission.off) {
        const key = addressKey(socket.remoteAddress ?? '');
        const refusal = admission.admit(key);
        if (refusal !== undefined) {
          refuse(socket, refusal);
          return;
        }
        socket.once('close', () => admission.release(key));
      }
      const session = hub.open(new TcpTransport(socket, kind));
      socket.on('data', (chunk: Buffer) => session.receive(chunk));
      socket.on('drain', () => session.onDrain());
      socket.on('error', (err) => logger.debug({ err: err.message, remote: socket.remoteAddress }, `${kind} socket error`));
      socket.on('close', () => session.onClosed());
    };
    if (tls === undefined) {
      this.server = createServer(SOCKET_OPTIONS, onSocket);
      return;
    }
    const server = createTlsServer({ ...SOCKET_OPTIONS, ...tls.secure, handshakeTimeout: tls.handshakeTimeoutMs }, onSocket);
    // Before the handshake completes there is no session: only a log line and a count.
    server.on('tlsClientError', (err, socket) => {
      tls.onHandshakeFailure();
      logger.debug({ err: err.message, remote: socket.remoteAddress }, 'tls handshake failed');
    });
    this.server = server;
  }

  /** New connections use this certificate and key; established ones keep theirs. TLS listeners only. */
  setSecureContext(secure: SecureContextOptions): void {
    (this.server as TlsServer).setSecureContext(secure);
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
