// /metrics of real broker processes: valid Prometheus text (read by a parser), counters and gauges
// that move with traffic, label sets that stay bounded whatever clients send, and what a cluster
// node adds (Redis reachability and read lag, cluster-wide queue depths).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CLIENT_COMMANDS } from '@stompede/session';
import { metricSum, useCluster } from './helpers/cluster.js';
import { eventually, expectErrorThenClose } from './helpers/expect.js';
import { metric, metricsText, metricValue, parseMetrics } from './helpers/metrics.js';
import { frame, header, type RawClient } from './helpers/raw-client.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { useBroker } from './helpers/suite.js';

const LONG = 20_000;

/** How much `name` (samples matching `labels`) grew from one scrape to the next. */
function delta(before: string, after: string, name: string, labels: Record<string, string> = {}): number {
  const [a, b] = [metricValue(before, name, labels), metricValue(after, name, labels)];
  assert.ok(a !== undefined && b !== undefined, `${name} is not exported`);
  return b - a;
}

const messages = (c: RawClient): number => c.frames.filter((f) => f.command === 'MESSAGE').length;

/** Label values of the series of `name`. */
function labelValues(text: string, name: string, label: string): string[] {
  const family = parseMetrics(text).get(name);
  assert.ok(family, `${name} is not exported`);
  return family.metrics.map((m) => m.labels?.[label] ?? '').sort();
}

describe('metrics', () => {
  const { broker, connectRaw, openRaw, subscriber } = useBroker();

  test('open and closed connections, by transport', async () => {
    const before = await metricsText(broker());
    const connections = async (transport: string) => metric(broker(), 'stompede_connections', { transport });
    const ws0 = metricValue(before, 'stompede_connections', { transport: 'websocket' })!;
    const tcp0 = metricValue(before, 'stompede_connections', { transport: 'tcp' })!;
    const clients = [await connectRaw('ws'), await connectRaw('tcp'), await openRaw('tcp')];
    await eventually(async () => (await connections('tcp')) === tcp0 + 2, async () => `tcp: ${await connections('tcp')}, before ${tcp0}`);
    assert.equal(await connections('websocket'), ws0 + 1);
    for (const c of clients) c.close();
    await eventually(
      async () => (await connections('tcp')) === tcp0 && (await connections('websocket')) === ws0,
      async () => `tcp ${await connections('tcp')} (was ${tcp0}), websocket ${await connections('websocket')} (was ${ws0})`,
    );
    const after = await metricsText(broker());
    assert.equal(delta(before, after, 'stompede_connections_opened_total'), 3);
    assert.equal(delta(before, after, 'stompede_connections_closed_total'), 3);
  });

  test('frames, published, enqueued and delivered messages move with traffic', async () => {
    const before = await metricsText(broker());
    const sub = await subscriber('ws', '/topic/metrics'); // CONNECT, SUBSCRIBE
    await sub.sendWithReceipt('SUBSCRIBE', { id: 'q', destination: '/queue/metrics' });
    const pub = await connectRaw('tcp');
    for (const body of ['t1', 't2', 't3']) pub.send(frame('SEND', { destination: '/topic/metrics' }, body));
    pub.send(frame('SEND', { destination: '/queue/metrics' }, 'q1'));
    await pub.sendWithReceipt('SEND', { destination: '/queue/metrics' }, 'q2');
    await eventually(() => messages(sub) === 5, () => `${messages(sub)} of 5 messages`);
    const after = await metricsText(broker());
    const frames = (command: string) => delta(before, after, 'stompede_frames_in_total', { command });
    assert.deepEqual(
      { CONNECT: frames('CONNECT'), SUBSCRIBE: frames('SUBSCRIBE'), SEND: frames('SEND'), OTHER: frames('OTHER') },
      { CONNECT: 2, SUBSCRIBE: 2, SEND: 5, OTHER: 0 },
    );
    assert.equal(delta(before, after, 'stompede_messages_published_total'), 5);
    assert.equal(delta(before, after, 'stompede_messages_enqueued_total'), 2);
    assert.equal(delta(before, after, 'stompede_messages_delivered_total'), 5);
  });

  test('the subscriptions gauge follows SUBSCRIBE, UNSUBSCRIBE, reply queues and the close', async () => {
    const subscriptions = () => metric(broker(), 'stompede_subscriptions');
    const s0 = await subscriptions();
    const c = await connectRaw('tcp');
    await c.sendWithReceipt('SUBSCRIBE', { id: 'a', destination: '/topic/gauge' });
    await c.sendWithReceipt('SUBSCRIBE', { id: 'b', destination: '/queue/gauge' });
    await c.sendWithReceipt('SEND', { destination: '/queue/nobody', 'reply-to': '/temp-queue/r' }, 'q');
    assert.equal(await subscriptions(), s0 + 3);
    await c.sendWithReceipt('UNSUBSCRIBE', { id: 'a' });
    assert.equal(await subscriptions(), s0 + 2);
    c.close();
    await eventually(async () => (await subscriptions()) === s0, async () => `${await subscriptions()} subscriptions, ${s0} before`);
  });

  test('a reply to a reply queue whose owner left is dropped as unroutable', async () => {
    const responder = await subscriber('tcp', '/queue/metrics-service');
    const requester = await connectRaw('ws');
    requester.send(frame('SEND', { destination: '/queue/metrics-service', 'reply-to': '/temp-queue/r' }, 'request'));
    const replyTo = header(await responder.waitForCommand('MESSAGE'), 'reply-to')!;
    assert.match(replyTo, /^\/reply-queue\//);
    // Its RECEIPT goes out after the session released its reply queue.
    await requester.sendWithReceipt('DISCONNECT', {});
    const unroutable = () => metric(broker(), 'stompede_deliveries_dropped_total', { reason: 'unroutable' });
    const before = await unroutable();
    await responder.sendWithReceipt('SEND', { destination: replyTo }, 'too late');
    assert.equal(await unroutable(), before + 1);
  });

  test('stompede_queue_depth counts the messages waiting in a queue, not those out for delivery', async () => {
    const depth = () => metric(broker(), 'stompede_queue_depth', { vhost: '/', queue: '/queue/x' });
    const pub = await connectRaw('tcp');
    for (const body of ['1', '2']) pub.send(frame('SEND', { destination: '/queue/x' }, body));
    await pub.sendWithReceipt('SEND', { destination: '/queue/x' }, '3');
    // The node caches depths for a few seconds.
    await eventually(async () => (await depth()) === 3, async () => `depth ${await depth()}, expected 3`, LONG);
    const consumer = await subscriber('tcp', '/queue/x', { ack: 'client-individual', 'prefetch-count': '1' });
    await consumer.waitForCommand('MESSAGE');
    await eventually(async () => (await depth()) === 2, async () => `depth ${await depth()}, expected 2`, LONG);
  });

  test('/metrics is Prometheus text: every family has HELP and TYPE; drain state and process metrics', async () => {
    const response = await fetch(`${broker().httpUrl}/metrics`);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    const families = parseMetrics(text); // throws on a line that is not Prometheus text
    for (const f of families.values()) {
      assert.ok(f.help.length > 0, `${f.name} has no HELP`);
      assert.notEqual(f.type, 'UNTYPED', `${f.name} has no TYPE`);
    }
    assert.equal(text.split('\n').filter((l) => l.startsWith('# TYPE ')).length, families.size, 'each family appears once');
    const types = Object.fromEntries(
      ['stompede_frames_in_total', 'stompede_connections', 'stompede_queue_depth', 'stompede_drain_state', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_p99_seconds']
        .map((name) => [name, families.get(name)?.type]),
    );
    assert.deepEqual(types, {
      stompede_frames_in_total: 'COUNTER',
      stompede_connections: 'GAUGE',
      stompede_queue_depth: 'GAUGE',
      stompede_drain_state: 'GAUGE',
      process_cpu_seconds_total: 'COUNTER',
      nodejs_eventloop_lag_p99_seconds: 'GAUGE',
    });
    assert.equal(metricValue(text, 'stompede_drain_state'), 0);
    assert.ok(metricValue(text, 'process_cpu_seconds_total')! > 0);
    assert.ok(Number.isFinite(metricValue(text, 'nodejs_eventloop_lag_p99_seconds')));
  });
});

describe('metrics label cardinality', () => {
  const { broker, connectRaw, openRaw } = useBroker();

  test('an unknown command is counted as OTHER and as ERROR "unknown command"', async () => {
    const before = await metricsText(broker());
    const c = await connectRaw('tcp');
    c.send(frame('FROBNICATE'));
    await expectErrorThenClose(c, 'unknown command');
    const after = await metricsText(broker());
    assert.equal(delta(before, after, 'stompede_frames_in_total', { command: 'OTHER' }), 1);
    assert.equal(delta(before, after, 'stompede_errors_total', { reason: 'unknown command' }), 1);
  });

  test('50 different bogus commands add no label values', async () => {
    const before = await metricsText(broker());
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        // Half after CONNECT, half as the first frame; lower case is not a command either.
        const c = i % 2 === 0 ? await connectRaw('tcp') : await openRaw('tcp');
        c.send(frame(i % 5 === 0 ? 'send' : `BOGUS-${i}`));
        await expectErrorThenClose(c, i % 2 === 0 ? 'unknown command' : 'not connected');
      }),
    );
    const after = await metricsText(broker());
    assert.deepEqual(labelValues(after, 'stompede_frames_in_total', 'command'), [...CLIENT_COMMANDS, 'OTHER'].sort());
    assert.equal(delta(before, after, 'stompede_frames_in_total', { command: 'OTHER' }), 50);
    assert.deepEqual(labelValues(after, 'stompede_errors_total', 'reason'), ['not connected', 'unknown command']);
    assert.equal(delta(before, after, 'stompede_errors_total', { reason: 'not connected' }), 25);
  });
});

describe('cluster node metrics', { skip: redisUnavailable() }, () => {
  const { node, connectRaw, logs } = useCluster({ nodes: 1 });

  test('stompede_redis_up is 1', async () => {
    await eventually(async () => (await metricSum(node(0), 'stompede_redis_up')) === 1, () => `redis not up\n${logs()}`, LONG);
  });

  test('stompede_redis_lag_seconds counts reads of topic messages', async () => {
    const readCount = async () => {
      const family = parseMetrics(await metricsText(node(0))).get('stompede_redis_lag_seconds');
      assert.ok(family?.type === 'HISTOGRAM', 'stompede_redis_lag_seconds is a histogram');
      return Number(family.metrics[0]?.count ?? 0);
    };
    const sub = await connectRaw(0, 'ws');
    await sub.sendWithReceipt('SUBSCRIBE', { id: 's', destination: '/topic/lag' });
    const before = await readCount();
    const pub = await connectRaw(0, 'tcp');
    for (const body of ['1', '2', '3']) await pub.sendWithReceipt('SEND', { destination: '/topic/lag' }, body);
    await eventually(() => messages(sub) === 3, () => `${messages(sub)} of 3 messages\n${logs()}`, LONG);
    await eventually(async () => (await readCount()) > before, async () => `count still ${await readCount()}`, LONG);
  });

  test('stompede_queue_depth is what Redis holds, not what the node holds', async () => {
    const depth = () => metricSum(node(0), 'stompede_queue_depth', { vhost: '/', queue: '/queue/cx' });
    const pub = await connectRaw(0, 'tcp');
    for (const body of ['1', '2', '3', '4']) await pub.sendWithReceipt('SEND', { destination: '/queue/cx' }, body);
    await eventually(async () => (await depth()) === 4, async () => `depth ${await depth()}, expected 4`, LONG);
    assert.equal(await metricSum(node(0), 'stompede_queued_messages'), 0, 'nothing was read into the node');
    // A consumer with room for one: the entry it holds unacked no longer waits.
    const consumer = await connectRaw(0, 'tcp');
    await consumer.sendWithReceipt('SUBSCRIBE', { id: 'q', destination: '/queue/cx', ack: 'client-individual', 'prefetch-count': '1' });
    await consumer.waitForCommand('MESSAGE', LONG);
    await eventually(async () => (await depth()) === 3, async () => `depth ${await depth()}, expected 3`, LONG);
  });
});
