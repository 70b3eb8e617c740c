// The certificate and key of the STOMP-over-TLS listener. Read and checked at start: a node with a
// broken pair does not start. Then watched: a changed pair serves new connections while established
// ones keep theirs; a broken one (unreadable, not PEM, a key that does not belong to the
// certificate) is logged and the previous pair kept, so a half-finished rotation (the certificate
// written, the key not yet) never takes TLS down.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Logger } from '@stompede/session';
import { ConfigError } from './config.js';
import type { BrokerConfig } from './settings.js';

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

/** A certificate (chain) and its key as read from the files, and what identifies the leaf. */
export interface TlsPair {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** SHA-256 fingerprint of the leaf certificate, as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint256: string;
  readonly subject: string;
  readonly validTo: Date;
}

/** Reads and checks a pair; throws an Error saying what is wrong with which file. */
export function readTlsPair(files: TlsFiles): TlsPair {
  const cert = readFileSync(files.cert);
  const key = readFileSync(files.key);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`${files.cert} holds no PEM certificate (${(err as Error).message})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`${files.key} holds no usable PEM private key (${(err as Error).message})`);
  }
  if (!leaf.checkPrivateKey(privateKey)) throw new Error(`the key in ${files.key} does not belong to the certificate in ${files.cert}`);
  // What the TLS server will do with them: catches a chain that OpenSSL refuses.
  createSecureContext({ cert, key });
  return { cert, key, fingerprint256: leaf.fingerprint256, subject: leaf.subject, validTo: new Date(leaf.validTo) };
}

/** The files of the TLS listener when it is configured; undefined when TLS is off. */
export function tlsFiles(c: BrokerConfig): TlsFiles | undefined {
  return c.tlsCert === '' || c.tlsPort === 0 ? undefined : { cert: c.tlsCert, key: c.tlsKey };
}

/** The pair the node starts with; a ConfigError naming the settings when it cannot be used. */
export function readStartupTls(c: BrokerConfig): TlsPair | undefined {
  const files = tlsFiles(c);
  if (files === undefined) return undefined;
  try {
    return readTlsPair(files);
  } catch (err) {
    throw new ConfigError(`STOMPEDE_TLS_CERT / STOMPEDE_TLS_KEY: ${(err as Error).message}`);
  }
}

/**
 * Watches the two files (stat polling, which sees files rewritten in place, renamed over, or
 * swapped through a symlink as in Kubernetes Secret volumes) and hands every good new pair to
 * `apply`.
 */
export class CertificateReloader {
  reloads = 0;
  failures = 0;
  private readonly onChange = (): void => this.reload();

  constructor(
    private readonly files: TlsFiles,
    private current: TlsPair,
    private readonly apply: (pair: TlsPair) => void,
    private readonly logger: Logger,
  ) {}

  get serving(): TlsPair {
    return this.current;
  }

  /** Starts polling every `intervalMs`; 0 = never. */
  watch(intervalMs: number): void {
    if (intervalMs === 0) return;
    for (const file of [this.files.cert, this.files.key]) watchFile(file, { interval: intervalMs, persistent: false }, this.onChange);
  }

  stop(): void {
    for (const file of [this.files.cert, this.files.key]) unwatchFile(file, this.onChange);
  }

  /** Loads the files now; keeps the current pair when they are broken or unchanged. */
  reload(): void {
    let next: TlsPair;
    try {
      next = readTlsPair(this.files);
      if (next.cert.equals(this.current.cert) && next.key.equals(this.current.key)) return;
      this.apply(next);
    } catch (err) {
      this.failures++;
      this.logger.warn(
        { err: (err as Error).message, cert: this.files.cert, key: this.files.key, serving: this.current.fingerprint256 },
        'TLS certificate reload refused: keeping the previous certificate',
      );
      return;
    }
    this.current = next;
    this.reloads++;
    this.logger.info({ fingerprint256: next.fingerprint256, subject: next.subject, validTo: next.validTo.toISOString() }, 'TLS certificate reloaded');
  }
}
