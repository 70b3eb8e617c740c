// Wildcard subscriptions across nodes. The first publish of a destination from a node announces it
// (topics.ts runs scripts.ts's ANNOUNCE: a SET of known destinations plus an announcement stream).
// A node with wildcard subscribers in a vhost reads that vhost's announcements and checks the known
// set once per new pattern; a destination that matches a local subscription is then read like any
// other.
// New destinations are pushed to the node, never polled for.
import { BrokerUnavailableError } from '@stompede/broker-api';
import { readEntry } from './codec.js';
import { cmd } from './connection.js';
import type { RedisContext } from './context.js';
import type { Followers } from './follow.js';
import type { ReadTarget } from './reader.js';

/** A discovered destination starts this much before its announcement (clock skew between Redis Cluster nodes). */
const DISCOVERY_SLACK_MS = 1_000;
/** A directory whose start failed while Redis was up is retried after this long (doubling, up to 8 s). */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 8_000;

/** What the directory needs from the topic plane. */
export interface DirectoryHost {
  /** Starts reading a destination's stream (from `startId`, else from now) unless it is read already. */
  discover(vhost: string, destination: string, startId: string | undefined): Promise<void> | undefined;
  /** Stops reading the streams of `vhost` that no local subscription needs any more. */
  releaseUnmatched(vhost: string): void;
}

interface VhostDirectory {
  patterns: number;
  /** Redis time (ms) when this node began watching the directory: nothing older is delivered. */
  since: number;
  ready: Promise<void> | undefined;
  target: ReadTarget | undefined;
}

export class Directory {
  private readonly vhosts = new Map<string, VhostDirectory>();

  constructor(
    private readonly ctx: RedisContext,
    private readonly followers: Followers,
    private readonly host: DirectoryHost,
  ) {}

  /** A wildcard pattern is watched in `vhost`: completes when the destinations it matches are read. */
  watchPattern(vhost: string): Promise<void> {
    let d = this.vhosts.get(vhost);
    if (d === undefined) {
      d = { patterns: 0, since: 0, ready: undefined, target: undefined };
      this.vhosts.set(vhost, d);
      if (!this.ctx.up) {
        d.patterns++;
        return Promise.reject(new BrokerUnavailableError('Redis is unreachable: cross-node delivery starts when it returns.'));
      }
      d.ready = this.startOrRetry(vhost, d, RETRY_FIRST_MS);
    }
    d.patterns++;
    return (d.ready ?? Promise.resolve()).then(() => this.attachKnown(vhost));
  }

  unwatchPattern(vhost: string): void {
    const d = this.vhosts.get(vhost);
    if (d === undefined) return;
    d.patterns--;
    this.host.releaseUnmatched(vhost);
    if (d.patterns > 0) return;
    this.vhosts.delete(vhost);
    if (d.target !== undefined) this.followers.unfollow(this.ctx.keys.directory(vhost).announced);
  }

  /** Redis is back: directories whose start failed start now. */
  async restart(): Promise<void> {
    for (const [vhost, d] of this.vhosts) {
      if (d.target !== undefined) continue;
      d.ready = this.start(vhost, d);
      await d.ready.catch(() => {});
    }
  }

  /**
   * Starts the directory; if that fails while Redis is up (it answered with an error, or too late),
   * the start is retried with backoff instead of waiting for an outage to end. The caller (the
   * SUBSCRIBE's receipt) still learns of the failure.
   */
  private startOrRetry(vhost: string, d: VhostDirectory, retryMs: number): Promise<void> {
    return this.start(vhost, d).catch((err: unknown) => {
      this.ctx.log.warn({ vhost, err: String(err), retryMs }, 'could not start reading the destination directory for wildcard subscriptions; retrying');
      setTimeout(() => {
        if (this.vhosts.get(vhost) !== d || d.target !== undefined || !this.ctx.up) return;
        d.ready = this.startOrRetry(vhost, d, Math.min(retryMs * 2, RETRY_MAX_MS));
        void d.ready.then(() => this.attachKnown(vhost)).catch(() => {});
      }, retryMs).unref();
      throw err;
    });
  }

  private async start(vhost: string, d: VhostDirectory): Promise<void> {
    const keys = this.ctx.keys.directory(vhost);
    const time = (await cmd(this.ctx.commands, 'TIME', [])) as [string, string];
    d.since = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    const target: ReadTarget = {
      lastId: '$',
      onEntries: (entries) => {
        for (const raw of entries) {
          const entry = readEntry(raw);
          const dest = entry.data?.toString();
          if (dest === undefined) continue;
          const announcedMs = Number(entry.id.slice(0, entry.id.indexOf('-')));
          const from = Math.max(announcedMs - DISCOVERY_SLACK_MS, d.since);
          this.host.discover(vhost, dest, `${from}-0`)?.catch((err: unknown) =>
            this.ctx.log.warn({ vhost, destination: dest, err: String(err) }, 'could not start reading a newly announced destination'),
          );
        }
      },
    };
    await this.followers.follow(keys.announced, '$', target, () => this.vhosts.get(vhost) === d);
    if (this.vhosts.get(vhost) === d) d.target = target;
  }

  /** Destinations known before this pattern was watched: read the matching ones from now on. */
  private async attachKnown(vhost: string): Promise<void> {
    const known = (await cmd(this.ctx.commands, 'SMEMBERS', [this.ctx.keys.directory(vhost).known])) as string[];
    const starting: Promise<void>[] = [];
    for (const dest of known) {
      const p = this.host.discover(vhost, dest, undefined);
      if (p !== undefined) starting.push(p);
    }
    await Promise.all(starting);
  }
}
