// STOMP over TLS: a TCP listener with node:tls on top, and the watcher that keeps its certificate
// current. It is also what the TLS metrics read.
import type { Hub, Logger } from '@stompede/session';
import type { Admission } from './admission.js';
import type { TlsMetricSource } from './metrics-tls.js';
import type { BrokerConfig } from './settings.js';
import { CertificateReloader, type TlsFiles, type TlsPair } from './tls-certs.js';
import { TcpListener } from './transports/tcp.js';

export class TlsEndpoint implements TlsMetricSource {
  handshakeFailures = 0;
  private readonly listener: TcpListener;
  private readonly certs: CertificateReloader;

  constructor(hub: Hub, private readonly config: BrokerConfig, files: TlsFiles, pair: TlsPair, logger: Logger, admission: Admission) {
    // Admission counts a TLS client from its TCP connect, before the handshake: one refused is closed
    // without a handshake (and without an ERROR: none can reach it before TLS), and one that never
    // completes a handshake holds a slot of its address until the handshake deadline closes it.
    this.listener = new TcpListener(hub, config.bind, config.tlsPort, logger, admission, {
      secure: { cert: pair.cert, key: pair.key },
      // The CONNECT deadline starts after the handshake; this bounds the handshake itself.
      handshakeTimeoutMs: config.connectTimeoutMs,
      onHandshakeFailure: () => this.handshakeFailures++,
      maxHandshakes: config.tlsMaxHandshakes,
      onHandshakesFull: () => hub.metrics.countLimit('tlsMaxHandshakes'),
    });
    this.certs = new CertificateReloader(files, pair, (next) => this.listener.setSecureContext({ cert: next.cert, key: next.key }), logger);
  }

  get reloads(): number {
    return this.certs.reloads;
  }

  get failures(): number {
    return this.certs.failures;
  }

  get serving(): TlsPair {
    return this.certs.serving;
  }

  /** Listens and starts watching the certificate files. */
  async start(): Promise<void> {
    await this.listener.listen();
    this.certs.watch(this.config.tlsWatchMs);
  }

  /** Accepts connections again after stopListening() (undrain). */
  listen(): Promise<void> {
    return this.listener.listen();
  }

  stopListening(): void {
    this.listener.stopListening();
  }

  /** Stops listening and watching; established connections stay (the hub closes them). */
  close(): void {
    this.listener.stopListening();
    this.certs.stop();
  }
}
