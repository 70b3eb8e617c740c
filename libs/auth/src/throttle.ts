// Failed logins per IP address, in fixed windows: an address with `max` failures in its current
// window is refused at once, without its credentials being checked, until the window ends. That
// bounds password guessing per address and the scrypt work an attacker can cause. The table is
// bounded: windows are kept in the order they opened, so expired ones are dropped from the front,
// and past `maxAddresses` the oldest go first.

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

  /** Whether `ip` is over the limit now. */
  blocked(ip: string, nowMs: number): boolean {
    const w = this.windows.get(ip);
    return w !== undefined && nowMs - w.startMs < this.windowMs && w.failures >= this.max;
  }

  record(ip: string, nowMs: number): void {
    this.expire(nowMs);
    const w = this.windows.get(ip);
    if (w !== undefined && nowMs - w.startMs < this.windowMs) {
      w.failures++;
      return;
    }
    // A new window goes to the back, keeping the map in order of window start.
    this.windows.delete(ip);
    this.windows.set(ip, { startMs: nowMs, failures: 1 });
    if (this.windows.size > this.maxAddresses) this.windows.delete(this.windows.keys().next().value!);
  }

  /** Addresses with a failure in an open window. */
  get size(): number {
    return this.windows.size;
  }

  private expire(nowMs: number): void {
    for (const [ip, w] of this.windows) {
      if (nowMs - w.startMs < this.windowMs) return;
      this.windows.delete(ip);
    }
  }
}
