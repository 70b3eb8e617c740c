// Per-address admission of new connections, before any session exists: at most
// maxConnectionsPerIp open connections per client address, and at most connectionRatePerIp new ones
// per second (a token bucket connectionBurstPerIp deep). The transports ask it for every new socket
// and answer a refusal with a ready-made ERROR frame and a close (the TLS port with a close alone,
// before any handshake), so a connect flood costs the node no session, no parser, no timer and no
// TLS handshake. Addresses are counted under addressKey (libs/auth, shared with the failed-login
// throttle): IPv6 clients per /64 (one host usually holds a whole /64), IPv4-mapped IPv6 addresses
// as the IPv4 address.
import { addressKey } from '@stompede/auth';
import { encodeFrame } from '@stompede/stomp';

// The transports import the key from here, next to what it keys; failed logins use the same one.
export { addressKey };

export interface AdmissionLimits {
  readonly maxConnectionsPerIp: number;
  readonly connectionRatePerIp: number;
  readonly connectionBurstPerIp: number;
}

/** One address's open connections and connection-rate bucket. */
interface AddressState {
  open: number;
  tokens: number;
  refilledMs: number;
}

/** Entries idle this long are swept (once their bucket is full and they hold no connection). */
const SWEEP_EVERY_MS = 10_000;

export class Admission {
  /** Refusals by the setting that refused them, for stompede_limit_hits_total. */
  readonly hits = new Map<string, number>();
  private readonly addresses = new Map<string, AddressState>();
  private sweptMs: number;
  private readonly tooMany: Uint8Array;
  private readonly tooFast: Uint8Array;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.sweptMs = now();
    this.tooMany = refusalFrame(
      'too many connections from this address',
      `This node accepts at most ${limits.maxConnectionsPerIp} connections from one address (maxConnectionsPerIp, STOMPEDE_MAX_CONNECTIONS_PER_IP).`,
    );
    this.tooFast = refusalFrame(
      'connecting too fast',
      `This node accepts at most ${limits.connectionRatePerIp} new connections per second from one address, ${limits.connectionBurstPerIp} at once (connectionRatePerIp, STOMPEDE_CONNECTION_RATE_PER_IP); retry later.`,
    );
  }

  /** Whether no per-address limit is configured: the transports then skip admission entirely. */
  get off(): boolean {
    return this.limits.maxConnectionsPerIp === 0 && this.limits.connectionRatePerIp === 0;
  }

  /**
   * A new connection from `key` (addressKey()): undefined when admitted (and counted: call release
   * when it closes), else the ERROR frame to send before closing it.
   */
  admit(key: string): Uint8Array | undefined {
    const now = this.now();
    if (now - this.sweptMs > SWEEP_EVERY_MS) this.sweep(now);
    let a = this.addresses.get(key);
    if (a === undefined) {
      a = { open: 0, tokens: this.limits.connectionBurstPerIp, refilledMs: now };
      this.addresses.set(key, a);
    }
    const { maxConnectionsPerIp, connectionRatePerIp } = this.limits;
    if (maxConnectionsPerIp > 0 && a.open >= maxConnectionsPerIp) return this.refuse('maxConnectionsPerIp', this.tooMany);
    if (connectionRatePerIp > 0) {
      this.refill(a, now);
      if (a.tokens < 1) return this.refuse('connectionRatePerIp', this.tooFast);
      a.tokens -= 1;
    }
    a.open++;
    return undefined;
  }

  release(key: string): void {
    const a = this.addresses.get(key);
    if (a !== undefined && a.open > 0) a.open--;
  }

  /** Addresses tracked now (bounded: idle ones are swept). */
  get tracked(): number {
    return this.addresses.size;
  }

  private refuse(setting: string, frame: Uint8Array): Uint8Array {
    this.hits.set(setting, (this.hits.get(setting) ?? 0) + 1);
    return frame;
  }

  private refill(a: AddressState, now: number): void {
    const { connectionRatePerIp: rate, connectionBurstPerIp: burst } = this.limits;
    a.tokens = Math.min(burst, a.tokens + ((now - a.refilledMs) * rate) / 1000);
    a.refilledMs = now;
  }

  /** Forgets addresses with no connection whose bucket is full again: they would start over the same. */
  private sweep(now: number): void {
    this.sweptMs = now;
    for (const [key, a] of this.addresses) {
      if (a.open > 0) continue;
      if (this.limits.connectionRatePerIp > 0) this.refill(a, now);
      if (this.limits.connectionRatePerIp === 0 || a.tokens >= this.limits.connectionBurstPerIp) this.addresses.delete(key);
    }
  }
}

function refusalFrame(message: string, detail: string): Uint8Array {
  const body = new TextEncoder().encode(detail);
  return encodeFrame('ERROR', [
    ['message', message],
    ['content-type', 'text/plain;charset=utf-8'],
    ['content-length', String(body.length)],
  ], body);
}
