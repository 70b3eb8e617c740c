#!/usr/bin/env node
// `make soak` / `npm run soak -- --minutes N`: the leak and loss soak (docs/operations.md#soak).
// Never part of `make test`. A private redis-server and three nodes on the broker core, the load
// (this process: stompjs and raw TCP clients) on the load core; topics with fan-out, queues with
// ACKs and NACKs, connection churn, node-b restarted at a quarter of the run. Exit 0 when every
// slope is within its bound and no confirmed message was lost, 1 otherwise, 2 on bad usage.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAIN } from '../../services/broker/test/helpers/broker-process.js';
import { redisBinariesMissing } from '../../services/broker/test/helpers/redis-server.js';
import { renderChart } from './chart.js';
import { pin, SoakCluster } from './cluster.js';
import { parseSoakArgs, USAGE, UsageError, type SoakOptions } from './options.js';
import { failures, markdown, type SoakResult } from './report.js';
import { runTraffic } from './run.js';
import { samplesCsv } from './trend.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Production timings (the test harness scales the cluster ones down; on a busy machine its 1 s Redis
 * timeout would count a slow Redis as an outage). Nodes drain for real on SIGTERM: a second of
 * grace, clients closed over three.
 */
const NODE_ENV: Record<string, string> = {
  STOMPEDE_LOG_LEVEL: 'info',
  STOMPEDE_REDIS_HEARTBEAT_MS: '1000',
  STOMPEDE_REDIS_NODE_TTL_MS: '5000',
  STOMPEDE_QUEUE_CLAIM_IDLE_MS: '15000',
  STOMPEDE_QUEUE_JANITOR_MS: '1000',
  STOMPEDE_REDIS_TIMEOUT_MS: '3000',
  STOMPEDE_DRAIN_GRACE_MS: '1000',
  STOMPEDE_DRAIN_WINDOW_MS: '3000',
};

function machine(o: SoakOptions): Record<string, unknown> {
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  return {
    cpu: `${cpus()[0]?.model ?? 'unknown'} ×${cpus().length}`,
    ram: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    kernel: release(),
    node: process.version,
    commit: git || 'unknown',
    pinning: o.brokerCore === undefined ? 'none' : `nodes+redis core ${o.brokerCore}, load core ${o.loadCore}`,
    'load average at start (1/5/15 min)': loadavg().map((x) => x.toFixed(2)),
  };
}

async function main(): Promise<number> {
  let o: SoakOptions | undefined;
  try {
    o = parseSoakArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`soak: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (o === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  const missing = !existsSync(MAIN) ? `${relative(ROOT, MAIN)} is missing: run \`make build\` (make soak does)` : redisBinariesMissing();
  if (missing !== undefined) {
    process.stderr.write(`soak: ${missing}\n`);
    return 2;
  }
  if (o.loadCore !== undefined) pin(process.pid, o.loadCore);
  const out = o.out ?? join(ROOT, 'bench', 'results', `soak-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(out, { recursive: true });
  const info = machine(o);
  const startedAt = new Date().toISOString();
  log(`starting Redis and 3 nodes; results in ${relative(process.cwd(), out) || '.'}`);
  const cluster = await SoakCluster.start(3, NODE_ENV, o.brokerCore);
  const stopOnSignal = (): void => {
    log('interrupted: stopping the cluster');
    void cluster.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal).once('SIGTERM', stopOnSignal);
  let result: SoakResult;
  try {
    const traffic = await runTraffic(o, cluster, log);
    result = { command: commandLine(), machine: { ...info, 'load average at end': loadavg().map((x) => x.toFixed(2)) }, startedAt, ...traffic };
  } finally {
    await cluster.stop();
  }
  return writeResults(o, out, result);
}

async function writeResults(o: SoakOptions, out: string, result: SoakResult): Promise<number> {
  writeFileSync(join(out, 'samples.csv'), samplesCsv(result.samples));
  const svg = await renderChart(result.samples, {
    title: `Stompede soak: ${(result.loadSeconds / 60).toFixed(1)} min of load, 3 nodes + Redis (${result.startedAt.slice(0, 16)}Z)`,
    window: result.window,
    ...(result.restart && { restart: { stopS: result.restart.stopS, upS: result.restart.upS } }),
  });
  writeFileSync(join(out, 'chart.svg'), svg);
  if (o.chart !== undefined) copyFileSync(join(out, 'chart.svg'), o.chart);
  // The samples are in the CSV.
  writeFileSync(join(out, 'summary.json'), JSON.stringify({ ...result, samples: undefined, failures: failures(result) }, null, 2) + '\n');
  const md = markdown(result);
  writeFileSync(join(out, 'summary.md'), md);
  process.stdout.write(md);
  return failures(result).length === 0 ? 0 : 1;
}

function commandLine(): string {
  const args = process.argv.slice(2).join(' ');
  return `npm run soak${args === '' ? '' : ` -- ${args}`}`;
}

function log(line: string): void {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
