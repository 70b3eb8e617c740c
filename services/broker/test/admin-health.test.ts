// Health as Kubernetes' gRPC probes see it (grpc.health.v1, no credentials), through a drain and
// back: readiness off at once, liveness never; new connections refused after the grace and welcome
// again after Undrain. SIGTERM runs the same drain and exits, bounded by STOMPEDE_DRAIN_TIMEOUT_MS.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { DrainPhase, durationFromMs, type DrainResponse } from '@stompede/admin-api';
import WebSocket from 'ws';
import { AdminHandle, codeOf, collect, HealthProbe, type ServingStatus } from './helpers/admin.js';
import { freePort, startBroker } from './helpers/broker-process.js';
import { useCluster } from './helpers/cluster.js';
import { eventually } from './helpers/expect.js';
import { header, RawClient } from './helpers/raw-client.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { useBroker } from './helpers/suite.js';

const READY = 'stompede.readiness';
const LIVE = 'stompede.liveness';

async function httpStatus(url: string): Promise<number> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
}

function wsUpgradeStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ['v12.stomp']);
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(0));
  });
}

describe('health through a drain', async () => {
  const healthPort = await freePort();
  const { broker, connectRaw, defer } = useBroker({ env: { STOMPEDE_HEALTH_PORT: String(healthPort) } });

  test('readiness turns NOT_SERVING at once, liveness stays; connections are refused after the grace; Undrain restores both', async () => {
    const admin = new AdminHandle(broker());
    const probe = new HealthProbe(broker().adminAddress);
    const plainProbe = new HealthProbe(`127.0.0.1:${healthPort}`);
    defer(() => [admin.close(), probe.close(), plainProbe.close()]);
    for (const p of [probe, plainProbe]) {
      assert.equal(await p.check(READY), 'SERVING');
      assert.equal(await p.check(LIVE), 'SERVING');
      assert.equal(await p.check(''), 'SERVING');
      await assert.rejects(p.check('no.such.service'), (e) => codeOf(e) === status.NOT_FOUND);
    }
    const seen: ServingStatus[] = [];
    const watch = probe.watch(READY);
    watch.on('data', (m: { status: ServingStatus }) => seen.push(m.status));
    watch.on('error', () => {});
    defer(() => watch.cancel());
    await eventually(() => seen.includes('SERVING'), () => `watch saw ${seen}`);
    const clients = [await connectRaw('tcp'), await connectRaw('ws')];

    const progress: DrainResponse[] = [];
    const drained = collect(admin.drain({ grace: durationFromMs(1_500), window: durationFromMs(300) }), (m) => progress.push(m));
    await eventually(() => progress.length > 0, () => 'no drain progress');
    for (const p of [probe, plainProbe]) {
      assert.equal(await p.check(READY), 'NOT_SERVING');
      assert.equal(await p.check(LIVE), 'SERVING');
      assert.equal(await p.check(''), 'SERVING', 'a probe naming no service must not restart a draining node');
    }
    await eventually(() => seen.at(-1) === 'NOT_SERVING', () => `watch saw ${seen}`);
    assert.equal(await httpStatus(`${broker().httpUrl}/readyz`), 503);
    assert.equal(await httpStatus(`${broker().httpUrl}/healthz`), 200);
    if (progress.at(-1)!.status!.phase === DrainPhase.DRAIN_PHASE_GRACE) {
      assert.equal(await wsUpgradeStatus(broker().wsUrl), 101, 'still accepting during the grace');
    }
    await drained;
    assert.equal(progress.at(-1)!.status!.phase, DrainPhase.DRAIN_PHASE_DRAINED);
    for (const c of clients) assert.equal(header(await c.waitForCommand('ERROR'), 'message'), 'node draining');
    assert.equal(await wsUpgradeStatus(broker().wsUrl), 503, 'WebSocket upgrades refused');
    await assert.rejects(RawClient.tcp(broker().tcpPort), /ECONNREFUSED/, 'TCP refused');
    assert.equal(await httpStatus(`${broker().httpUrl}/metrics`), 200, 'metrics still answer');

    await admin.undrain('');
    assert.equal(await probe.check(READY), 'SERVING');
    await eventually(() => seen.at(-1) === 'SERVING', () => `watch saw ${seen}`);
    assert.equal(await httpStatus(`${broker().httpUrl}/readyz`), 200);
    const back = await connectRaw('tcp');
    await back.sendWithReceipt('SEND', { destination: '/topic/back' }, 'serving again');
    assert.equal(await wsUpgradeStatus(broker().wsUrl), 101);
  });
});

describe('SIGTERM', () => {
  test('drains (ERROR to every client, readiness off) and exits 0; a stalled client cannot hold it past the drain timeout', async () => {
    const broker = await startBroker({ env: { STOMPEDE_DRAIN_GRACE_MS: '200', STOMPEDE_DRAIN_WINDOW_MS: '600', STOMPEDE_DRAIN_TIMEOUT_MS: '1000' } });
    const probe = new HealthProbe(broker.adminAddress);
    try {
      const clients = await Promise.all([0, 1, 2].map(async () => {
        const c = await RawClient.tcp(broker.tcpPort);
        await c.connect();
        return c;
      }));
      const stalled = await RawClient.tcp(broker.tcpPort);
      await stalled.connect();
      stalled.pause();
      const exit = broker.stop();
      await eventually(async () => (await probe.check(READY).catch(() => 'gone')) !== 'SERVING', () => 'readiness still SERVING after SIGTERM');
      for (const c of clients) assert.equal(header(await c.waitForCommand('ERROR', 10_000), 'message'), 'node draining');
      assert.equal(await exit, 0, broker.output());
      assert.match(broker.output(), /drain timeout: closing the remaining clients now/);
      stalled.close();
    } finally {
      probe.close();
      broker.kill();
    }
  });
});

describe('health while Redis is down', { skip: redisUnavailable() }, () => {
  const cluster = useCluster({ nodes: 1 });

  test('answers from cached state: SERVING, within a probe deadline, with Redis stopped', async (t) => {
    if (cluster.redis().cannotRestart) return t.skip(cluster.redis().cannotRestart);
    const probe = new HealthProbe(cluster.node(0).adminAddress);
    cluster.defer(() => probe.close());
    await cluster.redis().stop();
    try {
      for (const service of [READY, LIVE]) assert.equal(await probe.check(service, 1_000), 'SERVING');
    } finally {
      await cluster.redis().start();
    }
  });
});
