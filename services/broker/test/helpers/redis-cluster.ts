// A real Redis Cluster for one test file: three masters (no replicas) on free ports of 127.0.0.1,
// each in its own temp directory, joined with `redis-cli --cluster create`. Cleanup kills them and
// removes the directories.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './broker-process.js';
import { pingRedis, RedisProcess, runCli } from './redis-server.js';

export interface RedisClusterHandle {
  /** Client ports of the masters. */
  readonly ports: readonly number[];
  /** redis://127.0.0.1:<port> of every master. */
  readonly urls: readonly string[];
  /** STOMPEDE_REDIS_URL with every master as a seed, comma-separated. */
  brokerEnv(): Record<string, string>;
  /** redis-cli against master `i` (add '-c' to follow redirects). */
  cli(i: number, ...args: string[]): Promise<string>;
  /** Number of keys on each master. */
  keysPerMaster(): Promise<number[]>;
  output(): string;
  cleanup(): Promise<void>;
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const root = mkdtempSync(join(tmpdir(), 'stompede-redis-cluster-'));
  const all = await distinctFreePorts(masters * 2);
  const ports = all.slice(0, masters);
  const busPorts = all.slice(masters);
  const servers = ports.map((port, i) => {
    const dir = join(root, String(port));
    mkdirSync(dir);
    return new RedisProcess(port, dir, [
      '--save', '',
      '--appendonly', 'no',
      '--cluster-enabled', 'yes',
      '--cluster-config-file', join(dir, 'nodes.conf'),
      '--cluster-node-timeout', '5000',
      '--cluster-port', String(busPorts[i]),
    ], `redis cluster master ${i}`);
  });
  const output = (): string => servers.map((s) => `--- master :${s.port}\n${s.output()}`).join('\n');
  const cleanup = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop(false)));
    rmSync(root, { recursive: true, force: true });
  };
  const cli = (i: number, ...args: string[]): Promise<string> => runCli(['-h', '127.0.0.1', '-p', String(ports[i]), ...args]);
  try {
    await Promise.all(servers.map((s) => s.start()));
    await runCli(['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], 30_000);
    // Every master must see the whole cluster as ok (slots assigned, gossip converged).
    const until = Date.now() + 20_000;
    for (;;) {
      const infos = await Promise.all(ports.map((_, i) => cli(i, 'CLUSTER', 'INFO')));
      const ok = infos.every((info) => /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${masters}\\b`).test(info) && /cluster_slots_ok:16384/.test(info));
      if (ok) break;
      if (Date.now() > until) throw new Error(`redis cluster not ok:\n${infos.join('\n---\n')}\n${output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const p of ports) if (!(await pingRedis('127.0.0.1', p))) throw new Error(`master :${p} does not answer PING`);
  } catch (err) {
    await cleanup();
    throw err;
  }
  const urls = ports.map((p) => `redis://127.0.0.1:${p}`);
  return {
    ports,
    urls,
    brokerEnv: () => ({ STOMPEDE_REDIS_URL: urls.join(',') }),
    cli,
    async keysPerMaster() {
      return Promise.all(ports.map(async (_, i) => Number(await cli(i, 'DBSIZE'))));
    },
    output,
    cleanup,
  };
}
