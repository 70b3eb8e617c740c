// Failed logins per client address, in fixed windows: an address with `max` failures in its current
// window is refused at once, without its credentials being checked, until the window ends. That
// bounds password guessing per address and the scrypt work an attacker can cause. Addresses are
// counted under addressKey, as connection admission counts them: an IPv6 client per /64, so it
// cannot rotate through its /64 for fresh guesses, and an IPv4 client the same whichever way the
// transport spells its address. The table is bounded: windows are kept in the order they opened,
// so expired ones are dropped from the front, and past `maxAddresses` the oldest go first.
import { addressKey } from './address-key.js';

interface Window {
  readonly startMs: number;
  failures: number;
}

export class FailedLogins {
  private readonly windows = new Map<string, Window>();

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly maxAddresses = 100_000,
  ) {}

  /** Whether the client address `ip` (its addressKey) is over the limit now. */
  blocked(ip: string, nowMs: number): boolean {
    const w = this.windows.get(addressKey(ip));
    return w !== undefined && nowMs - w.startMs < this.windowMs && w.failures >= this.max;
  }

  /** A failed login from the client address `ip`, counted under its addressKey. */
  record(ip: string, nowMs: number): void {
    this.expire(nowMs);
    const key = addressKey(ip);
    const w = this.windows.get(key);
    if (w !== undefined && nowMs - w.startMs < this.windowMs) {
      w.failures++;
      return;
    }
    // A new window goes to the back, keeping the map in order of window start.
    this.windows.delete(key);
    this.windows.set(key, { startMs: nowMs, failures: 1 });
    if (this.windows.size > this.maxAddresses) this.windows.delete(this.windows.keys().next().value!);
  }

  /** Address keys with a failure in an open window. */
  get size(): number {
    return this.windows.size;
  }

  private expire(nowMs: number): void {
    for (const [key, w] of this.windows) {
      if (nowMs - w.startMs < this.windowMs) return;
      this.windows.delete(key);
    }
  }
}
