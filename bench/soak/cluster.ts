// The soak's cluster: a private redis-server and N broker nodes, started with the test harness
// (services/broker/test/helpers), pinned to the broker core, and one node restarted on demand:
// SIGTERM (it drains its clients over its drain window and exits), then the same node id started
// again on the same ports.
import { spawnSync } from 'node:child_process';
import { startClusterNode, type ClusterNode } from '../../services/broker/test/helpers/cluster.js';
import { startRedis, type RedisHandle } from '../../services/broker/test/helpers/redis-server.js';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** Pins every thread of `pid` to `core` (taskset -a -p). */
export function pin(pid: number, core: number): void {
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset -a -p -c ${core} ${pid}: ${r.error?.message ?? r.stderr.trim()}`);
}

export interface RestartRecord {
  readonly node: string;
  readonly oldPid: number;
  readonly newPid: number;
  /** Milliseconds since the epoch: SIGTERM sent, old process gone, new one serving. */
  readonly stopAt: number;
  readonly exitedAt: number;
  readonly upAt: number;
  readonly exitCode: number | null;
  /** The new process got other ports (the old ones could not be bound again). */
  readonly movedPorts: boolean;
  /** The old process's drain log lines. */
  readonly drainLog: string[];
}

export class SoakCluster {
  private readonly down = new Set<number>();

  private constructor(
    readonly redis: RedisHandle,
    readonly redisPid: number,
    readonly nodes: ClusterNode[],
    private readonly env: Record<string, string>,
    private readonly brokerCore: number | undefined,
  ) {}

  /** Starts Redis and `count` nodes with `env`, pinned to `brokerCore` (undefined: not pinned). */
  static async start(count: number, env: Record<string, string>, brokerCore: number | undefined): Promise<SoakCluster> {
    const redis = await startRedis({ name: 'soak-redis' });
    const redisPid = Number(/process_id:(\d+)/.exec(await redis.cli('INFO', 'server'))?.[1]);
    if (brokerCore !== undefined) pin(redisPid, brokerCore);
    const nodes: ClusterNode[] = [];
    const cluster = new SoakCluster(redis, redisPid, nodes, env, brokerCore);
    try {
      for (let i = 0; i < count; i++) nodes.push(await cluster.startNode(`node-${LETTERS[i]}`, {}));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** WebSocket URL of the k-th node that is up (round robin over those up). */
  wsUrl(k: number): string {
    return this.upNodes()[k % this.upNodes().length]!.wsUrl;
  }

  /** TCP port of the k-th node that is up. */
  tcpPort(k: number): number {
    return this.upNodes()[k % this.upNodes().length]!.tcpPort;
  }

  upNodes(): ClusterNode[] {
    return this.nodes.filter((_, i) => !this.down.has(i));
  }

  /** SIGTERM node `i`, wait for its drain and exit, start it again; clients avoid it meanwhile. */
  async restart(i: number): Promise<RestartRecord> {
    const old = this.nodes[i]!;
    this.down.add(i);
    const stopAt = Date.now();
    const exitCode = await stopWithin(old, 90_000);
    const exitedAt = Date.now();
    const samePorts = { STOMPEDE_WS_PORT: String(old.wsPort), STOMPEDE_TCP_PORT: String(old.tcpPort), STOMPEDE_ADMIN_PORT: String(old.adminPort) };
    let fresh: ClusterNode;
    let movedPorts = false;
    try {
      fresh = await this.startNode(old.nodeId, samePorts);
    } catch {
      movedPorts = true;
      fresh = await this.startNode(old.nodeId, {});
    }
    this.nodes[i] = fresh;
    this.down.delete(i);
    const drainLog = old.output().split('\n').filter((l) => /drain|stopped|SIGTERM/i.test(l)).slice(-10);
    return { node: old.nodeId, oldPid: old.pid, newPid: fresh.pid, stopAt, exitedAt, upAt: Date.now(), exitCode, movedPorts, drainLog };
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => stopWithin(n, 15_000)));
    await this.redis.cleanup();
  }

  private async startNode(nodeId: string, ports: Record<string, string>): Promise<ClusterNode> {
    const node = await startClusterNode(nodeId, this.redis.brokerEnv(), { ...this.env, ...ports });
    if (this.brokerCore !== undefined) pin(node.pid, this.brokerCore);
    return node;
  }
}

/** SIGTERM, and SIGKILL if the process has not exited after `ms`; resolves with the exit code. */
async function stopWithin(node: ClusterNode, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<null>((resolve) => {
    timer = setTimeout(() => {
      node.kill();
      resolve(null);
    }, ms);
  });
  const code = await Promise.race([node.stop(), killed]);
  clearTimeout(timer);
  return code;
}
