// Authentication counters of one node, read by the service's /metrics (plain numbers and maps, as
// the session layer's Metrics). Labels are bounded: methods, plus "none" for a CONNECT that no
// configured method applied to.

export class AuthMetrics {
  /** Accepted CONNECTs by method. */
  readonly successes = new Map<string, number>();
  /** Refused CONNECTs by method ("none": no configured method applied). */
  readonly failures = new Map<string, number>();
  /** CONNECTs refused at once because their address failed too often (too many failed logins). */
  rateLimited = 0;
  /** CONNECTs turned away at once because too many password checks were in progress. */
  busy = 0;
  /** Token refreshes on live connections, by result: accepted or refused. */
  readonly refreshes = new Map<string, number>([
    ['accepted', 0],
    ['refused', 0],
  ]);

  constructor(methods: readonly string[]) {
    for (const m of methods) {
      this.successes.set(m, 0);
      this.failures.set(m, 0);
    }
    this.failures.set('none', 0);
  }

  count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }
}
