// The cluster as the demo page's live view shows it: a read-only summary of every node (id, state,
// connections by transport, subscriptions, message rates). It carries no addresses, errors or
// anything an admin credential protects, so it can be served on the public WebSocket port. Answers
// are cached briefly: polling the view does not multiply calls to the peers.
import { nodeStateToJSON, type Node } from '@stompede/admin-api';

export interface ClusterViewNode {
  readonly id: string;
  readonly state: string;
  readonly version: string;
  readonly uptimeSec: number;
  readonly connections: Readonly<Record<string, number>>;
  readonly connectionsTotal: number;
  readonly subscriptions: number;
  readonly messagesInPerSecond: number;
  readonly messagesOutPerSecond: number;
}

export interface ClusterViewAnswer {
  /** The node that answered (the one the page is connected to). */
  readonly self: string;
  readonly nodes: readonly ClusterViewNode[];
}

export class ClusterView {
  private cached: { atMs: number; answer: Promise<ClusterViewAnswer> } | undefined;

  constructor(
    private readonly selfId: string,
    private readonly source: () => Promise<readonly Node[]>,
    private readonly ttlMs = 1000,
  ) {}

  answer(): Promise<ClusterViewAnswer> {
    const now = Date.now();
    if (this.cached === undefined || now - this.cached.atMs >= this.ttlMs) {
      const answer = this.source().then((nodes) => ({ self: this.selfId, nodes: nodes.map(summary) }));
      this.cached = { atMs: now, answer };
      answer.catch(() => (this.cached = undefined));
    }
    return this.cached.answer;
  }
}

function summary(n: Node): ClusterViewNode {
  return {
    id: n.id,
    state: nodeStateToJSON(n.state).replace(/^NODE_STATE_/, '').toLowerCase(),
    version: n.version,
    uptimeSec: Math.round(Number(n.uptime?.seconds ?? 0)),
    connections: { ...n.connections },
    connectionsTotal: n.connectionsTotal,
    subscriptions: n.subscriptions,
    messagesInPerSecond: round(n.messagesInPerSecond),
    messagesOutPerSecond: round(n.messagesOutPerSecond),
  };
}

const round = (x: number): number => Math.round(x * 10) / 10;
