// STOMP over plain TCP on node:net. The only module that touches TCP sockets.
import { createServer, type Server, type Socket } from 'node:net';
import type { Hub, Logger, Transport } from '@stompede/session';

/** After we end a connection, how long its peer gets to close before we cut it. */
const LINGER_MS = 5_000;

class TcpTransport implements Transport {
  readonly kind = 'tcp';
  readonly remoteAddress: string;
  readonly remoteIp: string;

  constructor(private readonly socket: Socket) {
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

export class TcpListener {
  private readonly server: Server;
  private listening = false;

  constructor(
    hub: Hub,
    private readonly bind: string,
    private readonly port: number,
    logger: Logger,
  ) {
    this.server = createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 }, (socket) => {
      const session = hub.open(new TcpTransport(socket));
      socket.on('data', (chunk: Buffer) => session.receive(chunk));
      socket.on('drain', () => session.onDrain());
      socket.on('error', (err) => logger.debug({ err: err.message, remote: socket.remoteAddress }, 'tcp socket error'));
      socket.on('close', () => session.onClosed());
    });
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
