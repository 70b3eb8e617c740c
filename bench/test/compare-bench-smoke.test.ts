// The `compare` section of the benchmark (bench/compare.mjs): its pure parts (how the cluster's
// subscribers are spread, the chart data and the SVG rendering) always, and a quick run of fan-out and
// queue against all four systems (Stompede, 3 nodes + Redis, a private RabbitMQ Web-STOMP, the bare uWS
// server) when rabbitmq-server and redis-server are installed. No speed is asserted (the machine may be
// busy). Needs the built broker (make build).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Row { system: string; scenario: string; subs: number | null; rate: number | null; delivered_rate: number | null; p99: number | null; client_cpu_pct: number | null; lost: number; errors: number }
interface Point { system: string; x: number; y: number; clientBound: boolean }
interface Compare {
  COMPARE_SYSTEMS: string[];
  spreadSubscribers(urls: string[], total: number): { subUrls: string[]; perUrl: number };
  mergeRuns(lists: object[][]): Array<{ round: number; subs: number; from?: string }>;
  stompbenchProcs(o: { compareProcs: number }, subs: number, rate: number | null): number;
  normalize(rec: object): Row | null;
  chartPoints(rows: Row[], scenario: string, xField: string, yField: string): Point[];
  lineChartSpec(a: { title: string; subtitle: string; points: Point[]; xTitle: string; yTitle: string }): object;
  renderSvg(spec: object): Promise<string>;
}
// A plain .mjs module (no type declarations): imported through a string so that tsc leaves it untyped.
const MODULE: string = '../compare.mjs';
const cmp = (await import(MODULE)) as Compare;

test('cluster subscribers are spread round robin over the nodes, in equal groups per URL', () => {
  const nodes = ['n1', 'n2', 'n3'];
  for (const total of [10, 100, 1000, 10000]) {
    const { subUrls, perUrl } = cmp.spreadSubscribers(nodes, total);
    assert.equal(subUrls.length * perUrl, total);
    assert.deepEqual(nodes.map((n) => subUrls.filter((u) => u === n).length * perUrl), [4, 3, 3].map((k) => k * perUrl));
  }
  assert.deepEqual(cmp.spreadSubscribers(nodes, 2), { subUrls: ['n1', 'n2'], perUrl: 1 });
  assert.throws(() => cmp.spreadSubscribers(nodes, 15), /do not split/);
});

test('stompbench worker processes only at 1,000+ subscribers or a fixed rate (their 20 ms reports would cap a max-rate publisher)', () => {
  const o = { compareProcs: 2 };
  assert.equal(cmp.stompbenchProcs(o, 10, 0), 0);
  assert.equal(cmp.stompbenchProcs(o, 100, null), 0);
  assert.equal(cmp.stompbenchProcs(o, 1000, 0), 2);
  assert.equal(cmp.stompbenchProcs(o, 100, 1000), 2);
  assert.equal(cmp.stompbenchProcs(o, 1, 10), 1);
});

test('a later results file supersedes an earlier one point by point', () => {
  const run = (subs: number, round: number, from: string): object => ({ type: 'run', bench: 'compare', scenario: 'fanout', system: 'stompede', subs, rate: null, round, from });
  const merged = cmp.mergeRuns([[run(10, 1, 'a'), run(10, 2, 'a'), run(100, 1, 'a'), { type: 'note', bench: 'compare' }], [run(10, 1, 'b')]]);
  assert.deepEqual(merged.map((x) => [x.subs, x.round, x.from]), [[10, 1, 'b'], [100, 1, 'a']]);
});

test('chart points are medians per system and x, flag a saturated client, and render to SVG', async () => {
  const run = (system: string, subs: number, delivered: number, client: number): object => ({
    bench: 'compare', type: 'run', scenario: 'fanout', system, subs, result: { delivered_rate: delivered, publish_rate: delivered / subs, lat_ms: { p50: 1, p99: 2 }, client_cpu_pct: client, broker_cpu_pct: 50, lost: 0, error_frames: 0 } });
  const rows = [run('stompede', 10, 100, 40), run('stompede', 10, 300, 95), run('stompede', 10, 200, 97), run('rabbitmq', 10, 50, 20), run('rabbitmq', 100, 70, 20)]
    .map((r) => cmp.normalize(r)).filter((r): r is Row => r !== null);
  assert.equal(cmp.normalize({ system: 'x', scenario: 'fanout', result: null, error: 'boom' }), null);
  const points = cmp.chartPoints(rows, 'fanout', 'subs', 'delivered_rate');
  assert.deepEqual(points, [
    { system: 'RabbitMQ Web-STOMP', x: 10, y: 50, clientBound: false },
    { system: 'RabbitMQ Web-STOMP', x: 100, y: 70, clientBound: false },
    { system: 'Stompede, 1 node', x: 10, y: 200, clientBound: true },
  ]);
  const svg = await cmp.renderSvg(cmp.lineChartSpec({ title: 'T', subtitle: 'S', points, xTitle: 'subscribers', yTitle: 'deliveries/s' }));
  assert.match(svg, /^<svg[^>]*>/);
  assert.match(svg, /RabbitMQ Web-STOMP/);
  assert.match(svg, /Stompede, 1 node/);
  assert.match(svg, /subscribers/);
});

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = [...(existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server') ? [] : ['rabbitmq-server (apt-get install rabbitmq-server)']), ...['redis-server', 'taskset'].filter((c) => !has(c))];

test('bench/run.mjs --only compare --quick: fan-out and queue run against every system', { skip: missing.length ? `needs ${missing.join(', ')}` : false, timeout: 240_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'stompede-compare-bench-'));
  try {
    const env = { ...process.env };
    delete env['NODE_OPTIONS'];
    delete env['NODE_TEST_CONTEXT'];
    const args = ['bench/run.mjs', '--only', 'compare', '--quick', '--compare-scenarios', 'fanout,queue', '--out', out, ...(cpus().length < 2 ? ['--load-core', '0'] : [])];
    const run = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8', timeout: 220_000 });
    assert.equal(run.status, 0, `run.mjs failed (status ${run.status}, signal ${run.signal}):\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-4000)}`);
    const file = readdirSync(out).find((f) => f.endsWith('-quick.jsonl'));
    assert.ok(file, `no results file in ${out}`);
    const records = readFileSync(join(out, file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; bench?: string; scenario?: string; system?: string; error?: string | null; broker?: { crashed?: boolean } | null });
    const runs = records.filter((r) => r.type === 'run' && r.bench === 'compare');
    const systems = (scenario: string): string[] => runs.filter((r) => r.scenario === scenario).map((r) => r.system ?? '').sort();
    assert.deepEqual(systems('fanout'), [...cmp.COMPARE_SYSTEMS].sort());
    assert.deepEqual(systems('queue'), cmp.COMPARE_SYSTEMS.filter((s) => s !== 'uws-ref').sort());
    for (const x of runs) {
      const where = `${x.scenario}/${x.system}`;
      assert.equal(x.error ?? null, null, where);
      assert.equal(x.broker?.crashed ?? false, false, `${where}: a server crashed`);
      const row = cmp.normalize(x);
      assert.ok(row && row.delivered_rate != null && row.delivered_rate > 0, `${where}: nothing delivered`);
      assert.equal(row.lost, 0, `${where}: lost`);
      assert.equal(row.errors, 0, `${where}: ERROR frames or failed subscriptions`);
      assert.ok(row.client_cpu_pct != null, `${where}: client CPU not measured`);
    }
    for (const svg of ['compare-fanout.svg', 'compare-p99.svg']) assert.match(readFileSync(join(out, svg), 'utf8'), /^<svg/, svg);
    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    assert.match(md, /## Side by side: .*RabbitMQ Web-STOMP/);
    assert.match(md, /### Fan-out, deliveries\/s/);
    assert.match(md, /### Queue, 4 producers × 4 consumers/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
