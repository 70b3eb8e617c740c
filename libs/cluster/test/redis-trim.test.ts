// Streams are trimmed to what readers still need: a node that lags keeps its unread entries (up to
// the hard bound), its publishers feel it (publish pressure), dead nodes stop holding streams, and
// a reader told of missing entries tells its subscribers. Also: a stream whose start fails while
// Redis is up is retried instead of staying silent.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeEntry } from '../src/redis/codec.js';
import { FOLLOW, run } from '../src/redis/scripts.js';
import { NONE, range, REDIS_SUITE, text, useNodes, VHOST } from './nodes.js';
import { eventually, redisUnavailable } from './redis.js';

describe('RedisBroker stream trimming and publish pressure', { skip: redisUnavailable(), ...REDIS_SUITE }, () => {
  const { redis, keys, node } = useNodes();
  const len = (dest: string): Promise<number> => redis().inspect.xlen(keys().topic(VHOST, dest));
  /** The consumer group of a node that follows `dest` from now on and then reads nothing: stalled. */
  const stalledReader = async (dest: string, nodeId: string): Promise<void> => {
    await run(redis().inspect, FOLLOW, [keys().topic(VHOST, dest)], [nodeId, '$', 10_000]);
  };
  /** The stalled node reads everything there is (what a node catching up does). */
  const catchUp = (dest: string, nodeId: string): Promise<unknown> =>
    redis().inspect.xreadgroup('GROUP', nodeId, nodeId, 'COUNT', 100_000, 'NOACK', 'STREAMS', keys().topic(VHOST, dest), '>');
  const register = (nodeId: string): Promise<number> =>
    redis().inspect.hset(keys().registry().nodes, nodeId, JSON.stringify({ id: nodeId, startedAt: Date.now(), heartbeatAt: Date.now(), meta: {}, topics: [], queues: [] }));
  const groups = async (dest: string): Promise<string[]> =>
    ((await redis().inspect.xinfo('GROUPS', keys().topic(VHOST, dest))) as unknown[][]).map((g) => String(g[1]));

  test('a stream keeps what a live reader has not read, and only the history once it has', async () => {
    const a = await node('a', { heartbeatMs: 20 });
    const dest = '/topic/short.kept';
    await register('slowpoke');
    await stalledReader(dest, 'slowpoke');
    for (const x of range(300)) void a.broker.publish(VHOST, dest, NONE, text(x));
    await a.broker.publish(VHOST, dest, NONE, text('last'), true);
    await a.broker.publish(VHOST, dest, NONE, text('after a pass'), true);
    await new Promise((r) => setTimeout(r, 300)); // several trim passes (trimIntervalMs 100)
    assert.ok((await len(dest)) >= 301, `nothing the reader still needs was trimmed (${await len(dest)} left)`);
    await catchUp(dest, 'slowpoke');
    await a.broker.publish(VHOST, dest, NONE, text('one more'), true);
    let left = 0;
    await eventually(async () => (left = await len(dest)) < 300, () => `still ${left} entries after the reader caught up`);
  });

  test('the groups of nodes the registry does not know are dropped: they no longer hold the stream', async () => {
    const a = await node('a', { heartbeatMs: 20 });
    const dest = '/topic/short.orphaned';
    await stalledReader(dest, 'long-gone');
    for (const x of range(250)) void a.broker.publish(VHOST, dest, NONE, text(x));
    await a.broker.publish(VHOST, dest, NONE, text('last'), true);
    await eventually(async () => !(await groups(dest)).includes('long-gone'), () => 'the dead node\'s group is still there');
    await a.broker.publish(VHOST, dest, NONE, text('one more'), true);
    let left = 0;
    await eventually(async () => (left = await len(dest)) < 250, () => `${left} entries`);
  });

  test('a node that joined after the trimmer\'s registry read keeps its group: it presses publishers, and is not dropped', async () => {
    // Registry reads every 5 s (fresh for 15): the newcomer's group appears, and the node registers,
    // between two of A's reads.
    const a = await node('a', { heartbeatMs: 5_000, nodeTtlMs: 15_000, streamLagPressure: 50, streamMaxEntries: 200 });
    const dest = '/topic/pressed.newcomer';
    await stalledReader(dest, 'newcomer');
    for (const x of range(60)) void a.broker.publish(VHOST, dest, NONE, text(x));
    await a.broker.publish(VHOST, dest, NONE, text('60'), true);
    await register('newcomer');
    await eventually(() => a.broker.publishPressure(VHOST, dest) === 'slow', () => `pressure ${a.broker.publishPressure(VHOST, dest)}`);
    await new Promise((r) => setTimeout(r, 300)); // more passes (trimIntervalMs 100)
    assert.ok((await groups(dest)).includes('newcomer'), 'the newcomer\'s group is kept');
    assert.equal(a.broker.publishPressure(VHOST, dest), 'slow');
  });

  test('publish pressure: slow past the lag bound, full near the hard bound, and relieved when the reader catches up', async () => {
    const a = await node('a', { heartbeatMs: 20, streamLagPressure: 50, streamMaxEntries: 200 });
    const dest = '/topic/pressed';
    await register('laggard');
    await stalledReader(dest, 'laggard');
    assert.equal(a.broker.publishPressure(VHOST, dest), 'none');
    for (const x of range(60)) void a.broker.publish(VHOST, dest, NONE, text(x));
    await a.broker.publish(VHOST, dest, NONE, text('60'), true);
    await eventually(() => a.broker.publishPressure(VHOST, dest) === 'slow', () => `pressure ${a.broker.publishPressure(VHOST, dest)}`);
    assert.equal(a.broker.publishPressure(VHOST, '/topic/elsewhere'), 'none', 'other destinations are not pressed');
    for (const x of range(130)) void a.broker.publish(VHOST, dest, NONE, text(x));
    await a.broker.publish(VHOST, dest, NONE, text('190'), true);
    await eventually(() => a.broker.publishPressure(VHOST, dest) === 'full', () => `pressure ${a.broker.publishPressure(VHOST, dest)}`);
    const relievedBefore = a.handler.relieved;
    await catchUp(dest, 'laggard');
    await eventually(() => a.broker.publishPressure(VHOST, dest) === 'none' && a.handler.relieved > relievedBefore, () => `pressure ${a.broker.publishPressure(VHOST, dest)}, relieved ${a.handler.relieved}`);
  });

  test('a reader whose lag Redis cannot tell (entries deleted in its range) presses publishers by the stream\'s length', async () => {
    const a = await node('a', { heartbeatMs: 20, streamLagPressure: 50, streamMaxEntries: 200 });
    const dest = '/topic/pressed.blind';
    const key = keys().topic(VHOST, dest);
    await register('blind');
    await stalledReader(dest, 'blind');
    for (const x of range(60)) void a.broker.publish(VHOST, dest, NONE, text(x));
    await a.broker.publish(VHOST, dest, NONE, text('60'), true);
    // Not the first entry: a deletion before the stream's first entry is no gap in anyone's range.
    const [tenth] = (await redis().inspect.xrange(key, '-', '+', 'COUNT', 10))[9]!;
    await redis().inspect.xdel(key, tenth);
    const lag = async (): Promise<unknown> => (((await redis().inspect.xinfo('GROUPS', key)) as unknown[][]).find((g) => g[1] === 'blind') ?? [])[11];
    assert.equal(await lag(), null, 'Redis cannot tell the lag of a group with a deleted entry ahead of it');
    await a.broker.publish(VHOST, dest, NONE, text('61'), true);
    await eventually(() => a.broker.publishPressure(VHOST, dest) === 'slow', () => `pressure ${a.broker.publishPressure(VHOST, dest)} with the lag unknown`);
    await catchUp(dest, 'blind');
    await eventually(() => a.broker.publishPressure(VHOST, dest) === 'none', () => `pressure ${a.broker.publishPressure(VHOST, dest)} after the reader caught up`);
  });

  test('near the hard bound, every accepted message counts until a pass has measured it: no gap while a pass or a batch is held up', async (t) => {
    if (redis().cannotRestart) return t.skip(`CLIENT PAUSE would stall a shared Redis: ${redis().cannotRestart}`);
    const a = await node('a', { heartbeatMs: 20, streamLagPressure: 50, streamMaxEntries: 200 });
    const dest = '/topic/pressed.counted';
    await register('laggard');
    await stalledReader(dest, 'laggard');
    await a.broker.publish(VHOST, dest, NONE, text('announced'), true);
    // Redis holds writes: the first message is a batch in flight, the other 184 wait behind it, and
    // the trim passes due meanwhile wait too. 185 accepted ≥ 90% of 200: 'full' from the last one on,
    // through the pause and the passes that measure only part of them, until they are all measured.
    await redis().inspect.client('PAUSE', 400, 'WRITE');
    const seen = new Set<string>();
    let sampling = true;
    const sample = (): void => {
      seen.add(a.broker.publishPressure(VHOST, dest));
      if (sampling) setImmediate(sample);
    };
    const first = a.broker.publish(VHOST, dest, NONE, text('first'), true);
    await new Promise(setImmediate);
    for (const x of range(183)) void a.broker.publish(VHOST, dest, NONE, text(x));
    const last = a.broker.publish(VHOST, dest, NONE, text('last'), true);
    sample();
    try {
      await Promise.all([first, last]);
      await new Promise((r) => setTimeout(r, 400)); // passes after the pause (trimIntervalMs 100)
    } finally {
      sampling = false;
    }
    assert.deepEqual([...seen], ['full'], 'the pressure never dropped below full');
    assert.equal(await len(dest), 186);
    // Nobody may publish now, yet the passes go on until all of it is measured: the reader catching
    // up ends the pressure.
    await catchUp(dest, 'laggard');
    await eventually(() => a.broker.publishPressure(VHOST, dest) === 'none', () => `pressure ${a.broker.publishPressure(VHOST, dest)}`);
  });

  test('a reader that skipped entries trimmed past the hard bound stops pressing publishers once it caught up (its read count is corrected)', async () => {
    const a = await node('a', { heartbeatMs: 20, streamLagPressure: 50, streamMaxEntries: 200 });
    const dest = '/topic/overrun';
    const key = keys().topic(VHOST, dest);
    await register('overrun');
    await stalledReader(dest, 'overrun');
    // Far past the hard bound in one go: XADD's MAXLEN trims entries the reader never got.
    for (const x of range(600)) void a.broker.publish(VHOST, dest, NONE, text(x));
    await a.broker.publish(VHOST, dest, NONE, text('600'), true);
    await eventually(() => a.broker.publishPressure(VHOST, dest) === 'full', () => `pressure ${a.broker.publishPressure(VHOST, dest)}`);
    await catchUp(dest, 'overrun');
    let group: unknown[] = [];
    await eventually(async () => {
      group = ((await redis().inspect.xinfo('GROUPS', key)) as unknown[][]).find((x) => x[1] === 'overrun')!;
      return a.broker.publishPressure(VHOST, dest) === 'none' && group[group.indexOf('lag') + 1] === 0;
    }, () => `pressure ${a.broker.publishPressure(VHOST, dest)}, group ${JSON.stringify(group)}`);
  });

  test('a node that finds entries missing corrects its group\'s read count, so its lag does not stay too high', async () => {
    const b = await node('b');
    const dest = '/topic/recount';
    await b.broker.watch(VHOST, dest, false);
    const key = keys().topic(VHOST, dest);
    const add = (seq: number): Promise<unknown> => redis().inspect.xadd(key, '*', 'd', encodeEntry(NONE, text(`m${seq}`)), 'o', `feedbeef:${seq}`);
    for (let seq = 1; seq <= 5; seq++) await add(seq);
    await eventually(() => b.handler.bodies(dest).length === 5, () => `B got ${b.handler.bodies(dest)}`);
    // 20 entries arrive and all but the last 10 are trimmed before B can read them (one MULTI):
    // Redis's count of B's reads then misses 10.
    const burst = redis().inspect.multi();
    for (let seq = 6; seq <= 25; seq++) burst.xadd(key, '*', 'd', encodeEntry(NONE, text(`m${seq}`)), 'o', `feedbeef:${seq}`);
    burst.xtrim(key, 'MAXLEN', 10);
    await burst.exec();
    await eventually(() => b.handler.bodies(dest).length === 15, () => `B got ${b.handler.bodies(dest).length}`);
    assert.equal(b.broker.clusterStats().gaps, 10);
    await add(26);
    await eventually(() => b.handler.bodies(dest).length === 16, () => 'm26');
    let group: unknown[] = [];
    await eventually(async () => {
      group = ((await redis().inspect.xinfo('GROUPS', key)) as unknown[][]).find((x) => x[1] === b.id)!;
      return group[group.indexOf('lag') + 1] === 0;
    }, () => `group of B: ${JSON.stringify(group)}`);
  });

  test('entries missing from a stream (a publisher\'s seq jumps) are counted, and the next message says how many', async () => {
    const b = await node('b');
    const dest = '/topic/holes';
    await b.broker.watch(VHOST, dest, false);
    const key = keys().topic(VHOST, dest);
    const add = (seq: number, body: string): Promise<unknown> => redis().inspect.xadd(key, '*', 'd', encodeEntry(NONE, text(body)), 'o', `feedbeef:${seq}`);
    await add(1, 'one');
    await add(2, 'two');
    await add(6, 'six'); // 3, 4 and 5 never arrive (trimmed, or lost by Redis)
    await add(7, 'seven');
    await eventually(() => b.handler.bodies(dest).length === 4, () => `B got ${b.handler.bodies(dest)}`);
    assert.deepEqual(b.handler.topics.filter((t) => t.destination === dest).map((t) => [t.body, t.missedBefore]), [['one', 0], ['two', 0], ['six', 3], ['seven', 0]]);
    assert.equal(b.broker.clusterStats().gaps, 3);
  });

  test('a stream whose start fails while Redis is up is retried, and delivery begins without a Redis outage', async () => {
    const [a, b] = [await node('a'), await node('b')];
    const dest = '/topic/blocked';
    const key = keys().topic(VHOST, dest);
    await redis().inspect.set(key, 'not a stream');
    await assert.rejects(Promise.resolve(b.broker.watch(VHOST, dest, false)), /WRONGTYPE/);
    await redis().inspect.del(key);
    await eventually(async () => {
      await a.broker.publish(VHOST, dest, NONE, text('through'), true);
      return b.handler.bodies(dest).includes('through');
    }, () => `B never started reading ${dest}`, 5_000);
  });

  test('a wildcard directory whose start fails while Redis is up is retried, and its destinations are found', async () => {
    const [a, b] = [await node('a'), await node('b')];
    const announced = keys().directory(VHOST).announced;
    await redis().inspect.set(announced, 'not a stream');
    await assert.rejects(Promise.resolve(b.broker.watch(VHOST, '/topic/wild.*', true)), /WRONGTYPE/);
    await redis().inspect.del(announced);
    b.handler.interests.add('/topic/wild.');
    await eventually(async () => {
      await a.broker.publish(VHOST, '/topic/wild.one', NONE, text('found'), true);
      return b.handler.bodies('/topic/wild.one').includes('found');
    }, () => 'B never found /topic/wild.one', 5_000);
  });
});
