// Wildcard subscriptions across nodes. The first publish of a destination from a node announces it
// (topics.ts runs scripts.ts's ANNOUNCE: a SET of known destinations plus an announcement stream).
// A node with wildcard subscribers in a vhost reads that vhost's announcements and checks the known
// set once per new pattern; a destination that matches a local subscription is then read like any
// other.
// New destinations are pushed to the node, never polled for.
import { BrokerUnavailableError } from '../broker.js';
import { field } from './codec.js';
import { cmd } from './connection.js';
import type { RedisContext } from './context.js';
import { KeySpace } from './keys.js';
import type { ReadTarget } from './reader.js';

/** A discovered destination starts this much before its announcement (clock skew between Redis Cluster nodes). */
const DISCOVERY_SLACK_MS = 1_000;

/** What the directory needs from the topic plane. */
export interface DirectoryHost {
  /** Starts reading a destination's stream (from `startId`, else from now) unless it is read already. */
  discover(vhost: string, destination: string, startId: string | undefined): Promise<void> | undefined;
  /** Stops reading the streams of `vhost` that no local subscription needs any more. */
  releaseUnmatched(vhost: string): void;
  tailId(key: string): Promise<string>;
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
      d.ready = this.start(vhost, d);
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
    const keys = this.ctx.keys.directory(vhost);
    if (d.target !== undefined) this.ctx.reader('topics', KeySpace.tagOf(keys.announced)).remove(keys.announced);
  }

  /** Redis is back: directories whose start failed start now. */
  async restart(): Promise<void> {
    for (const [vhost, d] of this.vhosts) {
      if (d.target !== undefined) continue;
      d.ready = this.start(vhost, d);
      await d.ready.catch(() => {});
    }
  }

  private async start(vhost: string, d: VhostDirectory): Promise<void> {
    const keys = this.ctx.keys.directory(vhost);
    const time = (await cmd(this.ctx.commands, 'TIME', [])) as [string, string];
    d.since = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    const tail = await this.host.tailId(keys.announced);
    if (this.vhosts.get(vhost) !== d) return;
    d.target = {
      lastId: tail,
      onEntries: (entries) => {
        for (const [id, fields] of entries) {
          const dest = field(fields, 'd')?.toString();
          if (dest === undefined) continue;
          const announcedMs = Number(id.toString().split('-')[0]);
          const from = Math.max(announcedMs - DISCOVERY_SLACK_MS, d.since);
          void this.host.discover(vhost, dest, `${from}-0`)?.catch(() => {});
        }
      },
    };
    this.ctx.reader('topics', KeySpace.tagOf(keys.announced)).add(keys.announced, d.target);
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
