// Private redis-servers that speak TLS only (no plaintext port), for one test file: a throwaway CA
// made with the openssl command, a server certificate naming DNS:localhost and no IP (so a client
// that checks it against 127.0.0.1 fails), one server, or a 3-master Redis Cluster whose bus is TLS
// too (`--tls-cluster yes`, which also makes the nodes announce their TLS ports).
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect } from 'node:tls';
import { delay, freePort, REDIS_SERVER } from './redis.js';

const REDIS_CLI = process.env['STOMPEDE_TEST_REDIS_CLI'] ?? join(dirname(REDIS_SERVER), 'redis-cli');

/** The name the server certificate carries: clients must check it, not the address they dial. */
export const TLS_HOST = 'localhost';

export interface TlsFiles {
  readonly dir: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Why TLS Redis tests cannot run here (no openssl, no redis-server built with TLS), or undefined. */
export function tlsRedisMissing(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return 'the openssl command is not installed';
  }
  try {
    // Redis links OpenSSL when it is built with TLS (BUILD_TLS=yes, as Debian's is).
    const ldd = execFileSync('ldd', [REDIS_SERVER], { encoding: 'utf8' });
    return /libssl/.test(ldd) ? undefined : `${REDIS_SERVER} is not built with TLS (it does not link libssl)`;
  } catch (err) {
    return `${REDIS_SERVER}: ${(err as Error).message}`;
  }
}

export function makeTlsFiles(): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), 'stompede-redis-tls-'));
  const files = { dir, ca: join(dir, 'ca.pem'), cert: join(dir, 'redis.pem'), key: join(dir, 'redis.key') };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-days', '1', '-subj', '/CN=stompede-test-redis-ca', '-keyout', join(dir, 'ca.key'), '-out', files.ca]);
  openssl(['req', ...ec, '-subj', `/CN=${TLS_HOST}`, '-keyout', files.key, '-out', join(dir, 'redis.csr')]);
  writeFileSync(join(dir, 'redis.ext'), `subjectAltName=DNS:${TLS_HOST}\n`);
  openssl(['x509', '-req', '-in', join(dir, 'redis.csr'), '-CA', files.ca, '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-days', '1', '-extfile', join(dir, 'redis.ext'), '-out', files.cert]);
  return files;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

export interface TlsRedis {
  /** TLS ports, one per server. */
  readonly ports: readonly number[];
  /** redis-cli over TLS against server `i`. */
  cli(i: number, ...args: string[]): Promise<string>;
  output(): string;
  cleanup(): Promise<void>;
}

/** One TLS-only redis-server, or with `cluster` a Redis Cluster of three masters. */
export async function startTlsRedis(files: TlsFiles, cluster: boolean): Promise<TlsRedis> {
  const count = cluster ? 3 : 1;
  const ports = await distinctFreePorts(count * 2);
  const servers = ports.slice(0, count).map((port, i) => spawnServer(files, port, cluster ? clusterArgs(files, port, ports[count + i]!) : []));
  const output = (): string => servers.map((s) => s.out()).join('\n---\n');
  const cli = (i: number, ...args: string[]): Promise<string> => runCli(files, ['-h', '127.0.0.1', '-p', String(ports[i]), ...args]);
  const cleanup = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  const handle = { ports: ports.slice(0, count), cli, output, cleanup };
  try {
    for (let i = 0; i < count; i++) await until(async () => (await cli(i, 'PING').catch(() => '')) === 'PONG', 10_000, () => `TLS redis :${ports[i]} answers PING\n${output()}`);
    if (cluster) await formCluster(handle, files);
  } catch (err) {
    await cleanup();
    throw err;
  }
  return handle;
}

function clusterArgs(files: TlsFiles, port: number, busPort: number): string[] {
  const dir = join(files.dir, String(port));
  mkdirSync(dir);
  return ['--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '5000', '--cluster-port', String(busPort), '--tls-cluster', 'yes'];
}

async function formCluster(redis: TlsRedis, files: TlsFiles): Promise<void> {
  await runCli(files, ['--cluster', 'create', ...redis.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], 30_000);
  const ok = async (): Promise<boolean> => {
    const infos = await Promise.all(redis.ports.map((_, i) => redis.cli(i, 'CLUSTER', 'INFO')));
    return infos.every((info) => /cluster_state:ok/.test(info) && /cluster_known_nodes:3\b/.test(info) && /cluster_slots_ok:16384/.test(info));
  };
  await until(ok, 20_000, () => `the TLS Redis Cluster is ok\n${redis.output()}`);
}

function spawnServer(files: TlsFiles, port: number, extra: readonly string[]): { out(): string; stop(): Promise<void> } {
  const tls = ['--tls-port', String(port), '--tls-cert-file', files.cert, '--tls-key-file', files.key, '--tls-ca-cert-file', files.ca, '--tls-auth-clients', 'no'];
  const args = ['--port', '0', ...tls, '--bind', '127.0.0.1', '--dir', files.dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', '', '--protected-mode', 'no', ...extra];
  const child: ChildProcess = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  // A test process that ends early must not leave the server behind.
  const kill = (): void => void child.kill('SIGKILL');
  process.once('exit', kill);
  return {
    out: () => `redis-server :${port} ${args.join(' ')}\n${out}`,
    async stop() {
      process.off('exit', kill);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** redis-cli over TLS, trusting the test CA and sending the certificate's name as SNI. */
function runCli(files: TlsFiles, args: readonly string[], timeoutMs = 10_000): Promise<string> {
  const tls = ['--tls', '--cacert', files.ca, '--sni', TLS_HOST];
  return new Promise((resolve, reject) => {
    execFile(REDIS_CLI, [...tls, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

/** A TLS handshake trusting only the test CA, checking the certificate against `servername` or, without it, the address. */
export function handshake(port: number, files: TlsFiles, servername?: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca: [readFileSync(files.ca)], ...(servername ? { servername } : {}) }, () => {
      socket.destroy();
      resolve('ok');
    });
    socket.on('error', (err) => resolve(err.message));
  });
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what()}`);
    await delay(50);
  }
}

export function removeTlsFiles(files: TlsFiles): void {
  rmSync(files.dir, { recursive: true, force: true });
}
