// Smoke test of the `cluster` section of the benchmark: `bench/run.mjs --only cluster --quick` starts its
// own redis-server and broker nodes, and every run completes with every message delivered once, in
// order. No speed is asserted (the machine may be busy). Needs the built broker (make build) and
// redis-server (make redis-deps); skipped without them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['redis-server', 'taskset'].filter((c) => !has(c));

interface RedisDelta {
  messages: number;
  xadd: number;
  xread: number;
  per_msg: { total: number; xadd: number; xread: number };
  cpu_s: number;
}
interface LoadResult {
  bench: string;
  publish_rate: number;
  delivered_rate: number;
  published_total: number;
  expected_total: number;
  distinct_total: number;
  subs: number;
  subs_failed: number;
  lost: number;
  duplicates: number;
  out_of_order: number;
  error_frames: number;
  unparsable: number;
  lat_ms: { n: number; p50: number | null; p99: number | null };
  cpu_pct: Record<string, number | null>;
  redis?: RedisDelta;
}
interface RunRecord {
  type: string;
  bench?: string;
  mode?: string;
  contender?: string;
  rate?: number;
  error?: string | null;
  cmd?: Record<string, string>;
  result?: LoadResult | null;
  brokers?: Record<string, { crashed: boolean; log_lines: number; log_tail: string[] }>;
}

test('bench/run.mjs --only cluster --quick: every run delivers every message once, in order', { skip: missing.length ? `needs ${missing.join(', ')}` : false, timeout: 300_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'stompede-cluster-bench-'));
  try {
    const env = { ...process.env };
    delete env['NODE_OPTIONS'];
    delete env['NODE_TEST_CONTEXT'];
    const args = ['bench/run.mjs', '--only', 'cluster', '--quick', '--out', out, ...(cpus().length < 2 ? ['--load-core', '0'] : [])];
    const run = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8', timeout: 280_000 });
    assert.equal(run.status, 0, `run.mjs failed (status ${run.status}, signal ${run.signal}):\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-4000)}`);

    const file = readdirSync(out).find((f) => f.endsWith('-quick.jsonl'));
    assert.ok(file, `no results file in ${out}`);
    const records = readFileSync(join(out, file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RunRecord);
    const runs = records.filter((r) => r.type === 'run' && r.bench === 'cluster');
    const seen = (mode: string): string[] => runs.filter((r) => r.mode === mode).map((r) => r.contender ?? '').sort();
    // bare-hop: the floor (bench/ref-hop-server.mjs), checked like the broker's runs below
    assert.deepEqual(seen('throughput'), ['bare-hop', 'cross-node', 'embedded', 'same-node']);
    assert.deepEqual(seen('latency'), ['cross-node', 'embedded', 'same-node']);
    assert.deepEqual(seen('commands'), ['1-node', '2-nodes', '3-nodes']);

    for (const x of runs) {
      const where = `${x.mode}/${x.contender}: ${x.cmd?.['load'] ?? ''}`;
      assert.equal(x.error ?? null, null, where);
      const r = x.result;
      assert.ok(r, where);
      assert.equal(r.bench, 'cluster-load', where);
      assert.ok(r.published_total > 0 && r.publish_rate > 0 && r.delivered_rate > 0, `${where}: nothing flowed`);
      assert.equal(r.subs_failed, 0, `${where}: failed subscriptions`);
      assert.equal(r.error_frames, 0, `${where}: ERROR frames`);
      assert.equal(r.unparsable, 0, `${where}: unparsable bodies`);
      assert.equal(r.lost, 0, `${where}: lost ${r.lost} of ${r.expected_total}`);
      assert.equal(r.duplicates, 0, `${where}: duplicates`);
      assert.equal(r.out_of_order, 0, `${where}: out of order`);
      assert.equal(r.distinct_total, r.published_total * r.subs, where);
      assert.ok(r.lat_ms.n > 0 && r.lat_ms.p99 != null, `${where}: no latency samples`);
      for (const [name, b] of Object.entries(x.brokers ?? {})) assert.equal(b.crashed, false, `${where}: ${name} crashed: ${b.log_tail.join('\n')}`);
      if (x.contender === 'embedded') {
        assert.equal(r.redis, undefined, where);
        assert.equal(r.cpu_pct['redis'], undefined, where);
      } else {
        assert.ok(r.redis, `${where}: no Redis counts`);
        assert.ok(r.redis.messages > 0 && r.redis.xadd > 0 && r.redis.xread > 0, `${where}: ${JSON.stringify(r.redis)}`);
        assert.ok(Number.isFinite(r.redis.per_msg.total) && r.redis.per_msg.total > 0, where);
        assert.ok(r.cpu_pct['redis'] != null, `${where}: Redis CPU not measured`);
      }
    }

    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    assert.match(md, /## Cluster \(Redis Streams\)/);
    assert.match(md, /\*\*cross-node \/ same-node = \d+%\*\*/);
    assert.match(md, /### Added latency of the Redis hop/);
    assert.match(md, /### Redis commands per published message/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
