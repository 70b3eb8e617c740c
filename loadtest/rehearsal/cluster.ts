// The processes of the rehearsal: a private redis-server and broker nodes (the test harness's
// helpers, services/broker/test/helpers), and "endpoints": the nodes clients may connect to now,
// as a Kubernetes Service's endpoints (a node leaves them when it starts terminating, a new one
// joins once it listens).
import { startClusterNode, type ClusterNode } from '../../services/broker/test/helpers/cluster.js';
import { startRedis, type RedisHandle } from '../../services/broker/test/helpers/redis-server.js';

export interface RehearsalCluster {
  readonly redis: RedisHandle;
  /** Every node started, in order, replaced ones included. */
  readonly nodes: ClusterNode[];
  /** WebSocket URLs of the nodes in the endpoints now. */
  urls(): readonly string[];
  /** Starts a node and adds it to the endpoints once it listens. */
  addNode(): Promise<ClusterNode>;
  removeEndpoint(node: ClusterNode): void;
  /** Stops every node still running (SIGKILL after 10 s) and Redis. */
  close(): Promise<void>;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

export async function startRehearsalCluster(nodeCount: number, env: Record<string, string>): Promise<RehearsalCluster> {
  const redis = await startRedis({ name: 'rehearsal-redis' });
  const nodes: ClusterNode[] = [];
  const endpoints: ClusterNode[] = [];
  const cluster: RehearsalCluster = {
    redis,
    nodes,
    urls: () => endpoints.map((n) => n.wsUrl),
    async addNode() {
      // A generous start timeout: the rehearsal also runs on loaded CI machines.
      const node = await startClusterNode(`node-${LETTERS[nodes.length] ?? nodes.length}`, redis.brokerEnv(), env, 60_000);
      nodes.push(node);
      endpoints.push(node);
      return node;
    },
    removeEndpoint(node) {
      const i = endpoints.indexOf(node);
      if (i >= 0) endpoints.splice(i, 1);
    },
    async close() {
      await Promise.all(nodes.map(async (n) => {
        const timer = setTimeout(() => n.kill(), 10_000);
        await n.stop();
        clearTimeout(timer);
      }));
      await redis.cleanup();
    },
  };
  try {
    for (let i = 0; i < nodeCount; i++) await cluster.addNode();
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}
