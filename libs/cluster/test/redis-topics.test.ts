// The topic plane of RedisBroker driven directly, two or three "nodes" in this process on a private
// Redis: cross-node delivery once the watch completes, the stream id as message-id, one order on
// every node, interest (a node without subscribers reads nothing), wildcards through the directory,
// and replay from a destination's stream.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NONE, range, REDIS_SUITE, settle, text, useNodes, VHOST, type TestNode } from './nodes.js';
import { connect } from 'node:net';
import { encodeEntry } from '../src/redis/codec.js';
import { eventually, redisUnavailable } from './redis.js';

describe('RedisBroker topics', { ...REDIS_SUITE, skip: redisUnavailable() }, () => {
  const { node, redis, keys } = useNodes();

  const streamIds = async (destination: string, vhost = VHOST): Promise<string[]> =>
    (await redis().inspect.xrange(keys().topic(vhost, destination), '-', '+')).map(([id]) => id);

  /** Publishes `bodies` from `n` without waiting, then a durable fence; resolves when the fence is stored. */
  const publishAll = async (n: TestNode, destination: string, bodies: string[]): Promise<void> => {
    for (const b of bodies) void n.broker.publish(VHOST, destination, NONE, text(b));
    await n.broker.publish(VHOST, destination, NONE, text('fence'), true);
  };

  const received = (n: TestNode, destination: string, body: string, count = 1): Promise<true> =>
    eventually(() => n.handler.count(destination, body) >= count, () => `${n.id} got ${body} on ${destination}; it has ${JSON.stringify(n.handler.bodies(destination))}`);

  /**
   * MONITOR on a raw socket (ioredis's monitor() can trip over output that comes before its OK).
   * `written()`: per command that wrote messages to the stream `key`, its name and how many (one
   * origin field each).
   */
  const monitorWrites = async (key: string): Promise<{ written: () => string[]; stop: () => void }> => {
    const { port } = new URL(redis().url);
    const monitor = connect(Number(port), '127.0.0.1');
    monitor.write('MONITOR\r\n');
    let output = '';
    monitor.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
    const written = (): string[] =>
      output.split('\r\n').flatMap((line) => {
        const origins = line.match(/"[0-9a-f]{8}:\d+"/g)?.length ?? 0;
        if (line.includes('[0 lua]') || !line.includes(`"${key}"`) || origins === 0) return [];
        return [`${/\] "(\w+)"/.exec(line)![1]!.toUpperCase()} ${origins}`];
      });
    await eventually(() => output.startsWith('+OK'), 'MONITOR started');
    return { written, stop: () => monitor.destroy() };
  };

  test('published on A, watched on B: arrives once, message-id "<destination>@<stream id>", headers and body intact', async () => {
    const [a, b] = [await node('a'), await node('b')];
    const dest = '/topic/one';
    await b.broker.watch(VHOST, dest);
    const headers = { names: ['k', 'k', 'colon:ed', 'é'], values: ['1', '2', 'a\nb', '🎉'] };
    await a.broker.publish(VHOST, dest, headers, Uint8Array.from([0, 1, 2, 255]), true);
    await a.broker.publish(VHOST, dest, NONE, text('fence'), true);
    await received(b, dest, 'fence');
    const got = b.handler.topics.filter((t) => t.destination === dest);
    assert.equal(got.length, 2, 'the message once, then the fence');
    const ids = await streamIds(dest);
    assert.equal(ids.length, 2);
    assert.deepEqual(got.map((t) => t.id), ids.map((id) => `${dest}@${id}`));
    assert.equal(got[0]!.vhost, VHOST);
    assert.deepEqual(got[0]!.names, headers.names);
    assert.deepEqual(got[0]!.values, headers.values);
    assert.deepEqual([...got[0]!.bytes], [0, 1, 2, 255]);
    assert.deepEqual(a.handler.topics, [], 'the publisher has no subscriber: nothing comes back to it');
  });

  test('a node without a matching watch reads nothing of the traffic', async () => {
    const [a, b, c] = [await node('a'), await node('b'), await node('c')];
    const dest = '/topic/busy';
    await b.broker.watch(VHOST, dest);
    await c.broker.watch(VHOST, '/topic/elsewhere');
    await publishAll(a, dest, range(50));
    await received(b, dest, 'fence');
    assert.equal(b.handler.bodies(dest).length, 51);
    assert.ok(b.broker.clusterStats().entriesRead >= 51, `B read ${b.broker.clusterStats().entriesRead}`);
    for (const n of [a, c]) {
      const s = n.broker.clusterStats();
      assert.equal(s.entriesRead, 0, `${n.id} read entries`);
      assert.equal(s.bytesRead, 0, `${n.id} read bytes`);
      assert.deepEqual(n.handler.topics, []);
    }
    assert.equal(a.broker.clusterStats().published, 51);
  });

  test('messages published before the watch completed are not delivered; everything after is', async () => {
    const [a, b] = [await node('a'), await node('b')];
    const dest = '/topic/from-now';
    await publishAll(a, dest, ['before']);
    await b.broker.watch(VHOST, dest);
    await publishAll(a, dest, ['after']);
    await received(b, dest, 'fence');
    assert.deepEqual(b.handler.bodies(dest), ['after', 'fence']);
  });

  test('every node, the publishers included, delivers in stream order with the same ids', async () => {
    const [a, b] = [await node('a'), await node('b')];
    const dest = '/topic/order';
    await Promise.all([a.broker.watch(VHOST, dest), b.broker.watch(VHOST, dest)]);
    for (let i = 0; i < 30; i++) void (i % 2 === 0 ? a : b).broker.publish(VHOST, dest, NONE, text(`m${i}`));
    // A fence from each publisher: B's last messages may land in the stream after A's fence.
    await Promise.all([a.broker.publish(VHOST, dest, NONE, text('fence'), true), b.broker.publish(VHOST, dest, NONE, text('fence-b'), true)]);
    await Promise.all([a, b].flatMap((n) => [received(n, dest, 'fence'), received(n, dest, 'fence-b')]));
    const ids = (await streamIds(dest)).map((id) => `${dest}@${id}`);
    assert.equal(ids.length, 32);
    for (const n of [a, b]) {
      const got = n.handler.topics.filter((t) => t.destination === dest);
      assert.deepEqual(got.map((t) => t.id), ids, `${n.id}: the stream's order and ids`);
    }
    const order = (n: TestNode, from: string): string[] => n.handler.bodies(dest).filter((x) => Number(x.slice(1)) % 2 === (from === 'a' ? 0 : 1));
    assert.deepEqual(order(b, 'a'), range(15).map((_, i) => `m${2 * i}`), "A's publish order");
    assert.deepEqual(order(a, 'b'), range(15).map((_, i) => `m${2 * i + 1}`), "B's publish order");
  });

  test('vhosts are separate: a watch in one vhost gets nothing published in another', async () => {
    const [a, b] = [await node('a'), await node('b')];
    const dest = '/topic/v';
    await b.broker.watch('tenant-1', dest);
    await a.broker.publish('tenant-2', dest, NONE, text('other'), true);
    await a.broker.publish('tenant-1', dest, NONE, text('mine'), true);
    await received(b, dest, 'mine');
    assert.deepEqual(b.handler.topics.map((t) => `${t.vhost} ${t.body}`), ['tenant-1 mine']);
  });

  test('unwatch stops delivery (and the reads); a destination the handler is still interested in stays read', async () => {
    const [a, b] = [await node('a'), await node('b')];
    const gone = '/topic/gone';
    // A fence destination read by the same reader (same partition) as `gone`.
    const fence = range(100, '/topic/fence-').find((d) => keys().partitionOf(VHOST, d) === keys().partitionOf(VHOST, gone))!;
    const kept = '/topic/kept';
    await Promise.all([b.broker.watch(VHOST, gone), b.broker.watch(VHOST, fence), b.broker.watch(VHOST, kept)]);
    b.handler.interests.add(kept); // e.g. a wildcard subscription still matches it
    assert.equal(b.broker.clusterStats().watchedStreams, 3);
    b.broker.unwatch(VHOST, gone);
    b.broker.unwatch(VHOST, kept);
    assert.equal(b.broker.clusterStats().watchedStreams, 2);
    await a.broker.publish(VHOST, gone, NONE, text('x'), true);
    await a.broker.publish(VHOST, kept, NONE, text('y'), true);
    await a.broker.publish(VHOST, fence, NONE, text('fence'), true);
    await Promise.all([received(b, fence, 'fence'), received(b, kept, 'y')]);
    assert.deepEqual(b.handler.bodies(gone), []);
  });

  test('wildcards: destinations matching a local subscription are found, known ones and new ones, first message included', async () => {
    const [a, b] = [await node('a'), await node('b')];
    const W = 'wild'; // a vhost of its own: the directory is per vhost and outlives the tests
    await a.broker.publish(W, '/topic/w.old', NONE, text('before the watch'), true);
    b.handler.interests.add('/topic/w.');
    await b.broker.watch(W, '/topic/w.*', true);
    assert.equal(b.broker.clusterStats().watchedStreams, 1, 'the known destination is read');
    await a.broker.publish(W, '/topic/w.old', NONE, text('old'), true);
    await a.broker.publish(W, '/topic/w.new', NONE, text('first'), true); // announced now
    await a.broker.publish(W, '/topic/other', NONE, text('unmatched'), true);
    await received(b, '/topic/w.old', 'old');
    await received(b, '/topic/w.new', 'first');
    assert.deepEqual(b.handler.bodies('/topic/w.old'), ['old']);
    await settle(50);
    assert.deepEqual(b.handler.bodies('/topic/other'), []);
    assert.equal(b.broker.clusterStats().watchedStreams, 2);
    // The directory knows every destination ever published to.
    const known = await redis().inspect.smembers(keys().directory(W).known);
    assert.deepEqual(known.sort(), ['/topic/other', '/topic/w.new', '/topic/w.old']);
  });

  test('only destinations a pattern could match are announced (patternPrefixes)', async () => {
    const [a, b] = [await node('a', { patternPrefixes: ['/topic/'] }), await node('b')];
    const V = 'announce'; // a vhost of its own: the directory is per vhost and outlives the tests
    await b.broker.watch(V, '/x-user/alice/queue/notes');
    await a.broker.publish(V, '/x-user/alice/queue/notes', NONE, text('private'), true);
    await a.broker.publish(V, '/x-user/alice/queue/notes', NONE, text('again'), true);
    await a.broker.publish(V, '/topic/public', NONE, text('public'), true);
    await received(b, '/x-user/alice/queue/notes', 'again');
    assert.deepEqual(b.handler.bodies('/x-user/alice/queue/notes'), ['private', 'again'], 'delivered like any topic');
    assert.deepEqual(await redis().inspect.smembers(keys().directory(V).known), ['/topic/public']);
    assert.equal(await redis().inspect.xlen(keys().directory(V).announced), 1);
  });

  test('replay: the history after an id, oldest first, in pages, without a gap', async () => {
    const [a, b] = [await node('a'), await node('b')];
    const dest = '/topic/replay';
    const bodies = range(25); // readCount is 10: three pages
    for (const x of bodies) void a.broker.publish(VHOST, dest, NONE, text(x));
    await a.broker.publish(VHOST, dest, NONE, text('last'), true);
    const ids = (await streamIds(dest)).map((id) => `${dest}@${id}`);
    assert.equal(ids.length, 26);
    const r = await b.broker.replay(VHOST, dest, ids[0]!);
    assert.equal(r.gap, false);
    assert.deepEqual(r.messages.map((m) => m.id), ids.slice(1));
    assert.deepEqual(r.messages.map((m) => Buffer.from(m.body).toString()), [...bodies.slice(1), 'last']);
    assert.ok(r.messages.every((m) => m.destination === dest));
    assert.deepEqual(await b.broker.replay(VHOST, dest, ids[25]!), { messages: [], gap: false }, 'after the newest: nothing');
    const mid = await b.broker.replay(VHOST, dest, ids[9]!);
    assert.deepEqual(mid.messages.map((m) => m.id), ids.slice(10), 'starting at a page boundary');
  });

  test('replay returns at most the configured history: older missed messages make it a gap', async () => {
    const a = await node('a');
    const dest = '/topic/short.cap'; // 3 messages of history; the stream itself keeps 10 reads' worth
    for (const x of range(8)) void a.broker.publish(VHOST, dest, NONE, text(x));
    await a.broker.publish(VHOST, dest, NONE, text('last'), true);
    const ids = (await streamIds(dest)).map((id) => `${dest}@${id}`);
    assert.equal(ids.length, 9, 'nothing trimmed from the stream');
    const bodies = (r: { messages: readonly { body: Uint8Array }[] }): string[] => r.messages.map((m) => Buffer.from(m.body).toString());
    const long = await a.broker.replay(VHOST, dest, ids[0]!);
    assert.deepEqual(bodies(long), ['m6', 'm7', 'last'], 'the newest three');
    assert.equal(long.gap, true, 'five missed ones are not returned');
    const exact = await a.broker.replay(VHOST, dest, ids[5]!);
    assert.deepEqual(bodies(exact), ['m6', 'm7', 'last']);
    assert.equal(exact.gap, false, 'exactly the history: nothing missing');
    const recent = await a.broker.replay(VHOST, dest, ids[7]!);
    assert.deepEqual(bodies(recent), ['last']);
    assert.equal(recent.gap, false);
  });

  test('replay: trimmed streams keep the newest; a gap when the stream no longer reaches back to the id', async () => {
    const a = await node('a');
    const dest = '/topic/short.trimmed';
    // Nobody reads it, so the trimmer keeps the history (3), in whole stream nodes of 100 entries
    // (MAXLEN ~): publish well past two.
    for (const x of range(300)) void a.broker.publish(VHOST, dest, NONE, text(x));
    await a.broker.publish(VHOST, dest, NONE, text('last'), true);
    let ids: string[] = [];
    await eventually(async () => (ids = (await streamIds(dest)).map((id) => `${dest}@${id}`)).length < 301, () => `the trimmer left ${ids.length} entries`);
    assert.ok(ids.length >= 3, `the history is kept (${ids.length} left)`);
    const r = await a.broker.replay(VHOST, dest, `${dest}@1-0`);
    assert.equal(r.gap, true);
    assert.deepEqual(r.messages.map((m) => m.id), ids.slice(-3));

    // A stream that lost its entries (a Redis restart without persistence, here a DEL): what it has
    // now comes back, all of it, with a gap, though it is less than the history.
    const lost = '/topic/lost';
    await publishAll(a, lost, ['old-1', 'old-2']);
    const [oldId] = (await streamIds(lost)).map((id) => `${lost}@${id}`);
    await redis().inspect.del(keys().topic(VHOST, lost));
    // A re-created stream numbers from the clock: within the same millisecond its first id could be
    // below the old ones, which a Redis restart cannot produce. Let the clock move on.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await publishAll(a, lost, ['new-1']);
    const after = await a.broker.replay(VHOST, lost, oldId!);
    assert.deepEqual(after.messages.map((m) => Buffer.from(m.body).toString()), ['new-1', 'fence']);
    assert.equal(after.gap, true);
    const [newId] = (await streamIds(lost)).map((id) => `${lost}@${id}`);
    assert.deepEqual(await a.broker.replay(VHOST, lost, newId!).then((x) => x.gap), false);
  });

  test('replay: another destination\'s id, an id that does not parse, or a stream that is gone mean a gap', async () => {
    const a = await node('a');
    const dest = '/topic/gaps';
    await a.broker.publish(VHOST, dest, NONE, text('x'), true);
    const [id] = await streamIds(dest);
    assert.deepEqual(await a.broker.replay(VHOST, dest, `/topic/elsewhere@${id}`), { messages: [], gap: true });
    assert.deepEqual(await a.broker.replay(VHOST, dest, 'not-an-id'), { messages: [], gap: true });
    assert.deepEqual(await a.broker.replay(VHOST, '/topic/never', `/topic/never@${id}`), { messages: [], gap: true });
  });

  /** Stream fields of an entry as a publishing node writes them, with origin "<incarnation>:<seq>". */
  const entry = (incarnation: string, seq: number): (string | Buffer)[] => ['d', encodeEntry(NONE, text(`s${seq}`)), 'o', `${incarnation}:${seq}`];

  test('an entry stored twice with the same origin (an XADD retried from the outbox) is delivered once', async () => {
    const b = await node('b');
    const dest = '/topic/dedupe';
    await b.broker.watch(VHOST, dest);
    const key = keys().topic(VHOST, dest);
    for (const seq of [1, 2, 2, 1, 3]) await redis().inspect.xadd(key, '*', ...entry('feed', seq));
    await eventually(() => b.handler.count(dest, 's3') === 1, 's3 on B');
    assert.deepEqual(b.handler.bodies(dest), ['s1', 's2', 's3']);
    assert.equal(b.broker.clusterStats().gaps, 0);
  });

  test('one batch in flight per stream: what is published meanwhile goes out as the next batch, in order', async (t) => {
    if (redis().cannotRestart) return t.skip(`CLIENT PAUSE would stall a shared Redis: ${redis().cannotRestart}`);
    const [a, b] = [await node('a'), await node('b')];
    const dest = '/topic/in-flight';
    await b.broker.watch(VHOST, dest);
    await a.broker.publish(VHOST, dest, NONE, text('announced'), true);
    const { written, stop } = await monitorWrites(keys().topic(VHOST, dest));
    try {
      // Redis holds A's first XADD: the stream has a batch in flight while 20 more SENDs come in,
      // each in a turn of its own.
      await redis().inspect.client('PAUSE', 300, 'WRITE');
      const stored = [a.broker.publish(VHOST, dest, NONE, text('first'), true)];
      for (const body of range(20)) {
        await new Promise(setImmediate);
        stored.push(a.broker.publish(VHOST, dest, NONE, text(body), true)!);
      }
      await Promise.all(stored);
      await received(b, dest, 'm19');
      // MONITOR's lines can come after the replies: destroying its socket first would lose them.
      await eventually(() => written().length >= 2, 'both commands seen by MONITOR');
    } finally {
      stop();
    }
    assert.deepEqual(written(), ['XADD 1', 'EVAL 20'], 'the first SEND alone, then the 20 that waited for it in one publish script');
    assert.deepEqual(b.handler.bodies(dest), ['announced', 'first', ...range(20)], 'in publish order');
  });

  test('a publish linger: SENDs in separate turns within it go to Redis as one batch', async () => {
    const [a, b] = [await node('a', { publishLingerMs: 200 }), await node('b')];
    const dest = '/topic/lingered';
    await b.broker.watch(VHOST, dest);
    await a.broker.publish(VHOST, dest, NONE, text('announced'), true);
    const { written, stop } = await monitorWrites(keys().topic(VHOST, dest));
    try {
      const stored: Promise<void>[] = [];
      for (const body of range(10)) {
        await new Promise(setImmediate);
        stored.push(a.broker.publish(VHOST, dest, NONE, text(body), true)!);
      }
      await Promise.all(stored);
      await received(b, dest, 'm9');
      await eventually(() => written().length >= 1, 'the command seen by MONITOR');
    } finally {
      stop();
    }
    assert.deepEqual(written(), ['EVAL 10'], 'ten SENDs, each in a turn of its own, in one publish script');
    assert.deepEqual(b.handler.bodies(dest), ['announced', ...range(10)], 'in publish order');
  });

  test('a node that falls further behind than the stream keeps counts what was trimmed as gaps', async () => {
    const b = await node('b');
    const dest = '/topic/lag';
    await b.broker.watch(VHOST, dest);
    const key = keys().topic(VHOST, dest);
    await redis().inspect.xadd(key, '*', ...entry('feed', 1));
    await eventually(() => b.handler.count(dest, 's1') === 1, 's1 on B');
    // 299 more in one MULTI: Redis serves B's blocked read only after all of them, and the trimming
    // they cause, so B finds its position gone.
    const m = redis().inspect.multi();
    for (let seq = 2; seq <= 300; seq++) m.xadd(key, 'MAXLEN', '~', 100, '*', ...entry('feed', seq));
    await m.exec();
    await eventually(() => b.handler.count(dest, 's300') === 1, 's300 on B');
    const got = b.handler.bodies(dest).slice(1);
    const { gaps } = b.broker.clusterStats();
    assert.ok(gaps > 0, 'entries were trimmed before B read them');
    assert.equal(gaps + got.length, 299, `every entry is either delivered (${got.length}) or counted (${gaps})`);
    assert.deepEqual(got, range(got.length, 's').map((_, i) => `s${301 - got.length + i}`), 'what B got is the newest, in order');
  });
});
