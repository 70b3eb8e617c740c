// SEND frames per destination over fixed windows, for the admin API's publish rates. A window's
// counts are kept until the next one closes, so memory is bounded by the destinations published
// to within two windows, and the hot path pays one map update per SEND.

export const PUBLISH_WINDOW_MS = 5_000;

export class PublishCounts {
  private current = new Map<string, number>();
  private last = new Map<string, number>();
  /** Start of the current window: the first roll (the hub's first tick) opens it. */
  private windowStartMs: number | undefined;
  private lastWindowMs = PUBLISH_WINDOW_MS;

  count(vhost: string, destination: string): void {
    const key = vhost + '\u0000' + destination;
    this.current.set(key, (this.current.get(key) ?? 0) + 1);
  }

  /** Closes the window once it is PUBLISH_WINDOW_MS old (called on every hub tick). */
  roll(now: number): void {
    if (this.windowStartMs === undefined) this.windowStartMs = now;
    if (now - this.windowStartMs < PUBLISH_WINDOW_MS) return;
    this.last = this.current;
    this.current = new Map();
    this.lastWindowMs = now - this.windowStartMs;
    this.windowStartMs = now;
  }

  /** SEND frames per second to the destination over the last closed window. */
  rate(vhost: string, destination: string): number {
    return ((this.last.get(vhost + '\u0000' + destination) ?? 0) * 1000) / this.lastWindowMs;
  }

  /** Destinations of `vhost` published to in the last closed window. */
  destinations(vhost: string): string[] {
    const prefix = vhost + '\u0000';
    const out: string[] = [];
    for (const key of this.last.keys()) if (key.startsWith(prefix)) out.push(key.slice(prefix.length));
    return out;
  }
}
