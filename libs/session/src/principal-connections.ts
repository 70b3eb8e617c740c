// Connections per authenticated principal on this node (maxConnectionsPerPrincipal). Counted at
// CONNECT, once authentication named the principal; anonymous sessions are not counted here (the
// per-address limits of the transports bound them). A principal's entry goes with its last connection.

export class PrincipalConnections {
  private readonly counts = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Counts one more connection of `name`; false, and nothing counted, when it holds the maximum already. */
  admit(name: string): boolean {
    const n = this.counts.get(name) ?? 0;
    if (this.max > 0 && n >= this.max) return false;
    this.counts.set(name, n + 1);
    return true;
  }

  release(name: string): void {
    const n = this.counts.get(name) ?? 0;
    if (n <= 1) this.counts.delete(name);
    else this.counts.set(name, n - 1);
  }

  /** Connections `name` holds now. */
  of(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}
