// The cluster's registry: a HASH with one snapshot per node (what it serves and is subscribed to,
// refreshed every heart-beat; a snapshot older than the node TTL belongs to a dead node) and a
// stream of interest changes, so the admin plane and the other nodes can watch the cluster.
import { cmd } from './connection.js';
import type { RedisContext } from './context.js';

export interface NodeSnapshot {
  readonly id: string;
  readonly startedAt: number;
  readonly heartbeatAt: number;
  readonly meta: Readonly<Record<string, string | number>>;
  readonly topics: readonly string[];
  readonly queues: readonly string[];
}

/** The node ids in the registry (live, or dead but not forgotten yet) at one read. */
export interface KnownNodes {
  readonly ids: ReadonlySet<string>;
  /** When the read was sent: Redis read the hash at or after this time. */
  readonly readAtMs: number;
}

const EVENTS_MAXLEN = 10_000;
/** A dead node's snapshot is deleted once it is this many TTLs old. */
const FORGET_AFTER_TTLS = 10;

export class Registry {
  private readonly startedAt = Date.now();
  private meta: Readonly<Record<string, string | number>>;
  alive = 0;
  /** Every node id in the hash at the last read (live, or dead but not forgotten yet), and when. */
  private known: KnownNodes | undefined;

  constructor(
    private readonly ctx: RedisContext,
    private readonly interests: () => { topics: string[]; queues: string[] },
  ) {
    this.meta = ctx.o.meta ?? {};
  }

  /** Merges `meta` into this node's snapshot (a drain state, say) and writes it now. */
  async announce(meta: Readonly<Record<string, string | number>>): Promise<void> {
    this.meta = { ...this.meta, ...meta };
    this.event('announce', '', JSON.stringify(meta));
    await this.heartbeat();
  }

  async heartbeat(): Promise<void> {
    const { nodes } = this.ctx.keys.registry();
    const sentAt = Date.now();
    const snapshot: NodeSnapshot = {
      id: this.ctx.o.nodeId,
      startedAt: this.startedAt,
      heartbeatAt: sentAt,
      meta: this.meta,
      ...this.interests(),
    };
    await cmd(this.ctx.commands, 'HSET', [nodes, this.ctx.o.nodeId, JSON.stringify(snapshot)]);
    this.ctx.counters.heartbeatRttMs = Date.now() - sentAt;
  }

  /** The live nodes' snapshots; forgets long-dead ones. */
  async nodes(): Promise<NodeSnapshot[]> {
    const { nodes } = this.ctx.keys.registry();
    // Before the command is sent: Redis reads the hash after this time (what the trimmer relies on).
    const readAtMs = Date.now();
    // ioredis turns the HGETALL reply into an object.
    const all = (await cmd(this.ctx.commands, 'HGETALL', [nodes])) as Record<string, string>;
    const now = Date.now();
    const live: NodeSnapshot[] = [];
    const dead: string[] = [];
    for (const [id, json] of Object.entries(all)) {
      let snap: NodeSnapshot;
      try {
        snap = JSON.parse(json) as NodeSnapshot;
      } catch {
        dead.push(id);
        continue;
      }
      const age = now - snap.heartbeatAt;
      if (age <= this.ctx.o.nodeTtlMs) live.push(snap);
      else if (age > this.ctx.o.nodeTtlMs * FORGET_AFTER_TTLS) dead.push(id);
    }
    if (dead.length > 0) await cmd(this.ctx.commands, 'HDEL', [nodes, ...dead]);
    this.alive = live.length;
    this.known = { ids: new Set(Object.keys(all).filter((id) => !dead.includes(id))), readAtMs };
    return live;
  }

  /**
   * The node ids the registry knew at its last read, if that read is recent (three heart-beats):
   * what the trimmer may treat as the whole cluster when it drops the read positions of nodes gone
   * for good.
   */
  knownIds(): KnownNodes | undefined {
    if (this.known === undefined || Date.now() - this.known.readAtMs > this.ctx.o.heartbeatMs * 3) return undefined;
    return this.known;
  }

  /** Records an interest change (watch, unwatch, consume, cancel) or a node event (join, leave, rejoin). */
  event(op: string, vhost = '', name = ''): void {
    if (!this.ctx.up) return;
    const { events } = this.ctx.keys.registry();
    void cmd(this.ctx.commands, 'XADD', [events, 'MAXLEN', '~', EVENTS_MAXLEN, '*', 'node', this.ctx.o.nodeId, 'op', op, 'vhost', vhost, 'name', name])
      .catch(() => {});
  }

  /**
   * A value every node of the cluster agrees on: the first node to ask stores its candidate, the
   * others get that one.
   */
  async agree(name: string, candidate: string): Promise<string> {
    const key = this.ctx.keys.shared(name);
    await cmd(this.ctx.commands, 'SET', [key, candidate, 'NX']);
    return String(await cmd(this.ctx.commands, 'GET', [key]));
  }

  async leave(): Promise<void> {
    this.event('leave');
    await cmd(this.ctx.commands, 'HDEL', [this.ctx.keys.registry().nodes, this.ctx.o.nodeId]);
  }
}
