// Smoke test of the `subscriptions` section of the benchmark: `bench/run.mjs --only subscriptions
// --quick`, made smaller still, starts the broker with an inspector, measures both namings, and the
// heap-snapshot breakdown adds up to the heap's growth. No number is held to a target (the machine
// may be busy). Needs the built broker (make build) and taskset; skipped without taskset.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const hasTaskset = spawnSync('sh', ['-c', 'command -v taskset']).status === 0;

interface Memory {
  rss: number;
  heapUsed: number;
}
interface SubscriptionResult {
  naming: string;
  conns: number;
  subscriptions: number;
  before: Memory;
  after: Memory;
  heap_bytes_per_sub: number;
  rss_bytes_per_sub: number;
  classes: { label: string; count: number; bytes: number }[] | null;
}
interface RunRecord {
  type: string;
  bench?: string;
  mode?: string;
  contender?: string;
  error?: string | null;
  cmd?: Record<string, string>;
  result?: SubscriptionResult | null;
  broker?: { crashed: boolean; log_lines: number; log_tail: string[] } | null;
}

// Enough subscriptions (~1–2 MB of heap) that heapUsed's noise after a GC (a few hundred KB on a
// busy machine) cannot hide whether the snapshots' breakdown matches the growth.
const CONNS = 300;
const PER_CONN = 10;
const SLACK_BYTES = 384 * 1024;

test('bench/run.mjs --only subscriptions --quick: both namings measured, the breakdown adds up', { skip: hasTaskset ? false : 'needs taskset', timeout: 180_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'stompede-subscriptions-bench-'));
  try {
    const env = { ...process.env };
    delete env['NODE_OPTIONS'];
    delete env['NODE_TEST_CONTEXT'];
    const args = ['bench/run.mjs', '--only', 'subscriptions', '--quick', '--sub-conns', String(CONNS), '--subs-per-conn', String(PER_CONN), '--out', out,
      ...(cpus().length < 2 ? ['--load-core', '0'] : [])];
    const run = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8', timeout: 170_000 });
    assert.equal(run.status, 0, `run.mjs failed (status ${run.status}, signal ${run.signal}):\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-4000)}`);

    const file = readdirSync(out).find((f) => f.endsWith('-quick.jsonl'));
    assert.ok(file, `no results file in ${out}`);
    const records = readFileSync(join(out, file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RunRecord);
    const runs = records.filter((r) => r.type === 'run' && r.bench === 'subscriptions');
    assert.deepEqual(runs.map((r) => `${r.mode}/${r.contender}`).sort(), ['breakdown/distinct', 'breakdown/shared', 'measure/distinct', 'measure/shared']);

    for (const x of runs) {
      const where = `${x.mode}/${x.contender}: ${x.cmd?.['load'] ?? ''}`;
      assert.equal(x.error ?? null, null, where);
      assert.equal(x.broker?.crashed, false, where);
      assert.equal(x.broker?.log_lines, 0, `${where}: broker warnings: ${x.broker?.log_tail.join('\n')}`);
      const r = x.result!;
      assert.equal(r.conns, CONNS, where);
      assert.equal(r.subscriptions, CONNS * PER_CONN, where);
      assert.ok(Number.isFinite(r.heap_bytes_per_sub) && Number.isFinite(r.rss_bytes_per_sub), where);
      if (x.mode !== 'breakdown') continue;
      const classes = r.classes!;
      assert.ok(classes.some((c) => c.label === 'Subscription' && c.count === r.subscriptions), `${where}: one Subscription per subscription`);
      // The snapshots' difference is the heap's growth, give or take what a GC leaves at this small scale.
      const sum = classes.reduce((a, c) => a + c.bytes, 0);
      const grown = r.after.heapUsed - r.before.heapUsed;
      assert.ok(Math.abs(sum - grown) < 0.25 * Math.abs(grown) + SLACK_BYTES, `${where}: classes sum to ${sum} B, the heap grew ${grown} B`);
    }

    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    assert.match(md, new RegExp(`## Memory per subscription \\(${CONNS} WebSocket connections × ${PER_CONN} subscriptions\\)`));
    assert.match(md, /### Heap by object, distinct destinations/);
    assert.match(md, /### Heap by object, shared destinations/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
