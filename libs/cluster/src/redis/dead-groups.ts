// Which consumer groups of topic streams belong to nodes gone for good, so the trimmer may destroy
// them (a dead node's group must not hold a stream). The registry says which nodes exist, but a read
// of it can be older than a group: a node that registered after the read and has subscribed since
// has a group the read does not explain. So a group is only destroyed once a registry read made
// after the group was seen lacks its node as well. A node registers before it creates any group
// (broker-redis.ts start, and again after an outage), so such a read would list it if it lived.
import type { KnownNodes } from './registry.js';

export class DeadGroups {
  /** Per stream, the groups last seen without a node in the registry, and when first seen so (ms). */
  private readonly suspects = new Map<string, Map<string, number>>();

  /** The groups of `key` to destroy now, given the latest registry read. */
  doomed(key: string, known: KnownNodes | undefined): string[] {
    const seen = this.suspects.get(key);
    if (seen === undefined || known === undefined) return [];
    const out: string[] = [];
    // Strictly before, in whole ms: the read was sent after the group was seen, not merely in the same ms.
    for (const [group, firstSeenMs] of seen) if (firstSeenMs < known.readAtMs && !known.ids.has(group)) out.push(group);
    return out;
  }

  /**
   * What a trim pass of `key` found: the groups whose node was not among the ids it was given
   * (undefined: it was given none), the ones destroyed excepted. `atMs` is when its reply came.
   */
  seen(key: string, unknown: readonly string[] | undefined, atMs: number): void {
    if (unknown === undefined) return;
    const before = this.suspects.get(key);
    if (unknown.length === 0) {
      this.suspects.delete(key);
      return;
    }
    const now = new Map<string, number>();
    for (const group of unknown) now.set(group, before?.get(group) ?? atMs);
    this.suspects.set(key, now);
  }

  /** The stream has groups waiting for a verdict: measure it again, even if nobody publishes to it. */
  pending(key: string): boolean {
    return this.suspects.has(key);
  }

  /** Forgets the streams a pass did not measure: what was seen of them is stale by the next one. */
  keepOnly(measured: { has(key: string): boolean }): void {
    for (const key of this.suspects.keys()) if (!measured.has(key)) this.suspects.delete(key);
  }
}
