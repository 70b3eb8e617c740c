// rediss:// against real TLS-only redis-servers, through the broker's openConnection in a child
// process that trusts the test CA through NODE_EXTRA_CA_CERTS (as docs/cluster.md tells users to):
// one URL, and Redis Cluster seeds (TLS on every node connection, certificates checked against the
// seed host although the cluster announces its nodes by IP). Without the CA, nothing connects.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { redisUnavailable } from './redis.js';
import { handshake, makeTlsFiles, removeTlsFiles, startTlsRedis, TLS_HOST, tlsRedisMissing, type TlsFiles, type TlsRedis } from './redis-tls.js';

const CLIENT = fileURLToPath(new URL('./fixtures/redis-tls-client.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../..', import.meta.url));

interface ClientResult {
  readonly ok: boolean;
  readonly masters?: number;
  readonly error?: string;
}

/**
 * Runs the client fixture against `urls`, with `ca` as NODE_EXTRA_CA_CERTS (none when undefined),
 * and ioredis's connection debug log on stderr (where a cluster node's TLS error only shows).
 */
function client(urls: string[], ca: string | undefined): Promise<ClientResult & { readonly debug: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_EXTRA_CA_CERTS: ca, DEBUG: 'ioredis:connection' };
  if (ca === undefined) delete env['NODE_EXTRA_CA_CERTS'];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--conditions=source', '--import', 'tsx', CLIENT, urls.join(',')], { cwd: REPO, env, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolve({ ...(JSON.parse(stdout.trim().split('\n').at(-1)!) as ClientResult), debug: stderr });
    });
  });
}

const skip = redisUnavailable() ?? tlsRedisMissing() ?? (process.env['STOMPEDE_TEST_REDIS_PROVIDER'] === 'testcontainers' ? 'TLS Redis runs as local redis-server processes only' : undefined);

describe('rediss:// against TLS-only redis-servers', { skip }, () => {
  let files: TlsFiles;
  before(() => {
    files = makeTlsFiles();
  });
  after(() => removeTlsFiles(files));

  test('one URL: TLS, the certificate checked against the URL host, the CA from NODE_EXTRA_CA_CERTS', async (t) => {
    const redis = await startTlsRedis(files, false);
    t.after(() => redis.cleanup());
    const url = `rediss://${TLS_HOST}:${redis.ports[0]}`;
    const trusted = await client([url], files.ca);
    assert.deepEqual([trusted.ok, trusted.masters], [true, 1], trusted.error);
    const untrusted = await client([url], undefined);
    assert.equal(untrusted.ok, false);
    assert.match(untrusted.error!, /self-signed certificate in certificate chain/);
  });

  describe('Redis Cluster seeds', () => {
    let redis: TlsRedis;
    before(async () => {
      redis = await startTlsRedis(files, true);
    });
    after(() => redis?.cleanup());

    test('the nodes are announced by IP, which their certificate does not name', async () => {
      const nodes = await redis.cli(0, 'CLUSTER', 'NODES');
      for (const port of redis.ports) assert.match(nodes, new RegExp(`127\\.0\\.0\\.1:${port}@`), `node :${port} is announced at 127.0.0.1 with its TLS port`);
      assert.match(await handshake(redis.ports[2]!, files), /altnames/, 'checked against the address, the certificate fails');
      assert.equal(await handshake(redis.ports[2]!, files, TLS_HOST), 'ok');
    });

    test('rediss:// seeds: TLS to every master, found through two seeds, checked against the seed host', async () => {
      const seeds = redis.ports.slice(0, 2).map((p) => `rediss://${TLS_HOST}:${p}`);
      const result = await client(seeds, files.ca);
      assert.deepEqual([result.ok, result.masters], [true, 3], `${result.error}\n${redis.output()}`);
      const keys = await Promise.all(redis.ports.map((_, i) => redis.cli(i, 'DBSIZE')));
      assert.ok(keys.every((n) => Number(n) > 0), `every master holds keys written through the seeds: ${keys.join('/')}`);
    });

    test('without the CA, the seeds are refused: the certificate is checked', async () => {
      const result = await client(redis.ports.map((p) => `rediss://${TLS_HOST}:${p}`), undefined);
      assert.equal(result.ok, false);
      // ioredis's Cluster reports only that no slots came; the reason is in its debug log.
      assert.match(result.error!, /Failed to refresh slots cache/);
      assert.match(result.debug, /error: Error: self-signed certificate in certificate chain/);
    });
  });
});
