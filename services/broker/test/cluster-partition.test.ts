// Node A loses its network path to Redis while Redis itself stays up: A runs in a network namespace
// whose link to Redis is cut, healed or slowed down (helpers/netns.ts), node B runs on the host
// beside the private Redis, and real clients (stompjs over WebSocket, raw STOMP over TCP) on both
// nodes say what users would see. What they must see is what docs/cluster.md ("Redis outages") and
// docs/invariants.md (sections 7 and 8) promise for a node that cannot reach Redis: a cut link is
// "Redis unreachable" for that node. Every scenario collects what went wrong and fails once, at the
// end, with the whole list and the nodes' logs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Client, IMessage } from '@stomp/stompjs';
import { eventually } from './helpers/expect.js';
import { netemUnavailable, netnsUnavailable } from './helpers/netns.js';
import { usePartitionCluster, type PartitionSuite } from './helpers/partition.js';
import {
  calmProblems,
  countOf,
  logLines,
  readMetric,
  readMetrics,
  sequenceProblems,
  Ticker,
  topicSubscriber,
  watchRaw,
  watchStompjs,
  type Watched,
} from './helpers/partition-traffic.js';
import { bodyText, frame, header, type RawClient, type RawFrame } from './helpers/raw-client.js';
import { redisNotRestartable, redisUnavailable, type RedisHandle } from './helpers/redis-server.js';
import { Inbox, publishAll, range, subscribed } from './helpers/stompjs.js';

const LONG = 20_000;

const skip =
  netnsUnavailable() ??
  redisUnavailable() ??
  (redisNotRestartable() === undefined ? undefined : 'needs a private redis-server bound to the namespace link');

/** Sends a frame with a receipt; resolves with the RECEIPT or ERROR that answered it, or undefined after `timeoutMs`. */
async function answer(c: RawClient, command: string, headers: Record<string, string>, body = '', timeoutMs = LONG): Promise<RawFrame | undefined> {
  const id = `r-${Math.random().toString(36).slice(2)}`;
  const p = c.waitFor((f) => (f.command === 'RECEIPT' && header(f, 'receipt-id') === id) || f.command === 'ERROR', timeoutMs, true);
  c.send(frame(command, { ...headers, receipt: id }, body));
  return p.catch(() => undefined);
}

/** stompede_cluster_nodes on B equals `n` (A left the registry, or is back in it). */
async function bSeesNodes(p: PartitionSuite, n: number, problems: string[], what: string, timeoutMs = LONG): Promise<void> {
  let last: number | string = 'unread';
  await eventually(
    async () => (last = await readMetric(p.b(), 'stompede_cluster_nodes')) === n,
    () => `stompede_cluster_nodes on B is ${last}, expected ${n}`,
    timeoutMs,
  ).catch((e: Error) => problems.push(`${what}: ${e.message}`));
}

/** Topic subscribers on both nodes, over WebSocket and over TCP on each. */
interface TopicWatchers {
  readonly onA: Watched[];
  readonly onB: Watched[];
  readonly all: Watched[];
  /** How many of A's (a-*) and of B's (b-*) messages each subscriber got. */
  counts(): string;
}

async function topicWatchers(p: PartitionSuite, dest: string): Promise<TopicWatchers> {
  const onA = [await topicSubscriber(p, p.a(), 'ws', dest), await topicSubscriber(p, p.a(), 'tcp', dest)];
  const onB = [await topicSubscriber(p, p.b(), 'ws', dest), await topicSubscriber(p, p.b(), 'tcp', dest)];
  const all = [...onA, ...onB];
  return { onA, onB, all, counts: () => all.map((w) => `${w.name}: a-* ${countOf(w, 'a-')}, b-* ${countOf(w, 'b-')}`).join('; ') };
}

/**
 * Fences: the last messages of A's raw publisher and B's stompjs one, once their tickers stopped;
 * whatever was owed comes before them. Then every subscriber must have got each publisher's
 * messages exactly once and in order.
 */
async function fenceTopic(dest: string, pubARaw: RawClient, pubBClient: Client, watchers: TopicWatchers, ticks: readonly [Ticker, Ticker], problems: string[]): Promise<void> {
  const fenceA = await answer(pubARaw, 'SEND', { destination: dest }, 'a-end');
  if (fenceA?.command !== 'RECEIPT') problems.push(`the fence SEND on A got ${fenceA?.command ?? 'no answer'}`);
  await publishAll(pubBClient, dest, ['b-end'], {}, LONG).catch((e: Error) => problems.push(`the fence SEND on B: ${e.message}`));
  await eventually(() => watchers.all.every((w) => w.bodies().includes('a-end') && w.bodies().includes('b-end')), () => `fences: ${watchers.counts()}`, LONG).catch((e: Error) =>
    problems.push(e.message),
  );
  for (const w of watchers.all) {
    for (const tick of ticks) problems.push(...sequenceProblems(w.name, w.bodies(), tick.prefix, tick.count));
  }
}

/** How long local delivery may take to show during a cut: the outage is noticed after one command timeout. */
const CUT_WINDOW_MS = 5_000;

describe('partition: topic traffic while node A is cut off from Redis', { skip }, () => {
  const p = usePartitionCluster();

  test('local delivery on A goes on, B is untouched, A\'s messages reach B after the heal exactly once and in order', async (t) => {
    const dest = '/topic/p.x';
    const watchers = await topicWatchers(p, dest);
    const { onA, onB, all, counts } = watchers;
    const pubARaw = await p.connectRaw(p.a(), 'tcp');
    const pubBClient = await p.stompjs(p.b());
    const pubA = watchRaw('node-a/raw-tcp publisher', pubARaw);
    const pubB = watchStompjs('node-b/stompjs-ws publisher', pubBClient);
    const problems: string[] = [];
    const seen: string[] = [];

    const tickA = new Ticker('a-', (body) => pubARaw.send(frame('SEND', { destination: dest }, body)));
    const tickB = new Ticker('b-', (body) => pubBClient.publish({ destination: dest, body }));
    let probe: Promise<RawFrame | undefined> | undefined;
    let probeAnsweredDuringCut: boolean | undefined;
    try {
      await eventually(() => all.every((w) => countOf(w, 'a-') >= 20 && countOf(w, 'b-') >= 20), () => `before the cut: ${counts()}`);

      await p.netns().cut();
      const cutAt = Date.now();
      const atCut = new Map(all.map((w) => [w, { a: countOf(w, 'a-'), b: countOf(w, 'b-') }]));
      // A SEND with a receipt cannot be made durable now: the docs promise an ERROR.
      const prober = await p.connectRaw(p.a(), 'tcp');
      probe = answer(prober, 'SEND', { destination: '/topic/p.probe' }, 'durable?');
      void probe.then(() => (probeAnsweredDuringCut ??= p.netns().isCut()));

      // Meanwhile the partition lasts until the cluster noticed it: A's registry entry expired on B.
      // A's own messages wait in its publish batch until a command times out (1 s here), then go
      // to its outbox and to its local subscribers: the window allows for that on a starved
      // machine (a CI run once saw this process publish 33 of its 200 ticks in 2 s).
      await Promise.all([
        eventually(
          () => onA.every((w) => countOf(w, 'a-') >= atCut.get(w)!.a + 20),
          () =>
            `A's own messages during the cut: ${onA.map((w) => `${w.name} +${countOf(w, 'a-') - atCut.get(w)!.a}`).join(', ')} ` +
            `(${tickA.count - atCut.get(onA[0]!)!.a} published since)`,
          CUT_WINDOW_MS,
        ).catch((e: Error) => problems.push(`docs/cluster.md "Redis outages": local topic delivery goes on; ${e.message}`)),
        eventually(
          () => onB.every((w) => countOf(w, 'b-') >= atCut.get(w)!.b + 20),
          () => `B's messages on B during the cut: ${onB.map((w) => `${w.name} +${countOf(w, 'b-') - atCut.get(w)!.b}`).join(', ')}`,
          CUT_WINDOW_MS,
        ).catch((e: Error) => problems.push(`B's subscribers stalled while A was cut off: ${e.message}`)),
        bSeesNodes(p, 1, problems, 'A never dropped out of the registry during the cut', 10_000),
      ]);
      // What A says about itself (docs/cluster.md: its metrics and logs say what is happening).
      const [up, outbox] = await readMetrics(p.a(), ['stompede_redis_up', 'stompede_cluster_outbox_messages']);
      // The log line is written when the metric changes, but reaches this process through A's
      // stdout pipe, which can come after the metric's HTTP answer.
      await eventually(() => logLines(p.a(), 'Redis unreachable').length > 0, () => 'no log line', 2000).catch(() => {});
      const unreachableLogged = logLines(p.a(), 'Redis unreachable').length;
      seen.push(
        `during the cut: A stompede_redis_up=${up}, stompede_cluster_outbox_messages=${outbox}; ` +
          `A logged "Redis unreachable" ${unreachableLogged} times; ${counts()}`,
      );
      if (up !== 0 || unreachableLogged === 0) {
        problems.push(
          `docs/cluster.md "Redis outages": stompede_redis_up and the log say what is happening; ` +
            `during the cut A's stompede_redis_up was ${up} and A logged "Redis unreachable" ${unreachableLogged} times`,
        );
      }

      await p.netns().heal();
      const healedAt = Date.now();
      const healA = tickA.count;
      const healB = tickB.count;
      // Traffic published after the heal flows both ways again.
      await eventually(
        () => onB.every((w) => w.bodies().includes(`a-${healA + 20}`)) && onA.every((w) => w.bodies().includes(`b-${healB + 20}`)),
        () => `after the heal (a-${healA + 20} on B, b-${healB + 20} on A): ${counts()}`,
        LONG,
      ).catch((e: Error) => problems.push(e.message));
      seen.push(`the cut lasted ${healedAt - cutAt} ms; traffic flowed both ways again ${Date.now() - healedAt} ms after the heal`);
    } finally {
      tickA.stop();
      tickB.stop();
    }

    await fenceTopic(dest, pubARaw, pubBClient, watchers, [tickA, tickB], problems);
    problems.push(...calmProblems([...all, pubA, pubB]));
    const probed = await probe;
    const probeAnswer = probed === undefined ? `no answer within ${LONG} ms` : `${probed.command} ${probeAnsweredDuringCut ? 'during the cut' : 'after the heal'}`;
    seen.push(`SEND with receipt on A during the cut: ${probeAnswer}`);
    if (probed?.command !== 'ERROR') {
      problems.push(`docs/invariants.md section 8 (Redis unreachable): a SEND with receipt gets ERROR; the one sent on A during the cut got ${probeAnswer}`);
    }
    seen.push(`published: ${tickA.count} a-*, ${tickB.count} b-*; received: ${counts()}`);
    for (const s of seen) t.diagnostic(s);
    assert.deepEqual(problems, [], `${problems.join('\n')}\n${seen.join('\n')}\n${p.logs()}`);
  });
});

/** What Redis holds for a queue: its stream key, entries, pending entries and byte counter. */
interface QueueInRedis {
  readonly key: string;
  readonly length: number;
  readonly pending: number;
  readonly bytes: string;
}

/** What Redis holds for queue `queue` (the one stream key whose name ends with it). */
async function queueInRedis(redis: RedisHandle, queue: string): Promise<QueueInRedis> {
  const keys = (await redis.cli('--scan', '--pattern', `*:q:*${queue}`)).split('\n').filter((k) => k.length > 0);
  assert.equal(keys.length, 1, `one stream for ${queue} in Redis: ${keys.join(', ')}`);
  const key = keys[0]!;
  const length = Number(await redis.cli('XLEN', key));
  const pending = Number((await redis.cli('XPENDING', key, 'stompede')).split('\n')[0]);
  const bytes = await redis.cli('GET', key.replace(/:q:/, ':qb:'));
  return { key, length, pending, bytes };
}

/** Waits until Redis holds no entry of `queue`, pending or not (a problem, `when`, if it does not); returns what it held last. */
async function queueEmptied(redis: RedisHandle, queue: string, when: string, problems: string[]): Promise<QueueInRedis> {
  let state = await queueInRedis(redis, queue);
  await eventually(
    async () => {
      state = await queueInRedis(redis, queue);
      return state.length === 0 && state.pending === 0;
    },
    () => `queue in Redis ${when}: ${JSON.stringify(state)}`,
  ).catch((e: Error) => problems.push(e.message));
  return state;
}

describe('partition: queue leases of a node cut off from Redis (the zombie node)', { skip }, () => {
  const p = usePartitionCluster();

  test('B reclaims what A holds, A\'s late ACKs change nothing: each message acked once, none lost, none delivered a third time', async (t) => {
    const q = '/queue/p.zombie';
    const n = 10;
    const problems: string[] = [];
    const seen: string[] = [];
    const zombie = await p.connectRaw(p.a(), 'tcp');
    const zombieWatch = watchRaw('node-a/raw-tcp consumer', zombie);
    await zombie.sendWithReceipt('SUBSCRIBE', { id: 'z', destination: q, ack: 'client-individual', 'prefetch-count': String(n) });
    const producer = await p.stompjs(p.b());
    const producerWatch = watchStompjs('node-b/stompjs-ws producer', producer);
    await publishAll(producer, q, range(n, 'z-'), {}, LONG);
    const onA = (): RawFrame[] => zombie.frames.filter((f) => f.command === 'MESSAGE');
    await eventually(() => onA().length >= n, () => `A's consumer got ${onA().length} of ${n}`);
    assert.deepEqual(onA().map(bodyText), range(n, 'z-'), 'A\'s consumer holds every message, unacked');

    // B's consumer acks whatever it gets; while A renews its leases it gets nothing.
    const rescuerClient = await p.stompjs(p.b());
    const rescued = new Inbox();
    const rescuer = watchStompjs('node-b/stompjs-ws consumer', rescuerClient, rescued);
    await subscribed(rescuerClient, q, (m: IMessage) => {
      rescued.push(m);
      m.ack();
    }, { ack: 'client-individual', 'prefetch-count': String(n) });

    if (rescued.messages.length > 0) problems.push(`B's consumer got ${rescued.bodies.join(',')} before the cut, while A held them`);
    await p.netns().cut();
    await rescued.until(n, LONG).catch((e: Error) => problems.push(`B's consumer after A's leases expired: ${e.message}`));
    // Still cut: B's ACKs have emptied the queue in Redis.
    await queueEmptied(p.redis(), q, 'before the heal', problems);
    seen.push(`during the cut: B stompede_cluster_reclaimed_total=${await readMetric(p.b(), 'stompede_cluster_reclaimed_total')}`);

    await p.netns().heal();
    await bSeesNodes(p, 2, problems, 'A did not rejoin the registry after the heal');
    // A's client acks the copies it was given before the cut, the last with a receipt.
    const stale = onA().slice(0, n);
    for (const m of stale.slice(0, -1)) zombie.send(frame('ACK', { id: header(m, 'ack')! }));
    const lateAck = await answer(zombie, 'ACK', { id: header(stale.at(-1)!, 'ack')! });
    const lateError = lateAck?.command === 'ERROR' ? ` (${header(lateAck, 'message')}: ${bodyText(lateAck)})` : '';
    seen.push(`A's client acking its ${n} stale copies after the heal: ${lateAck?.command ?? 'no answer'}${lateError}`);
    if (lateAck?.command === 'ERROR') problems.push(`A's late ACK was answered with ERROR ${header(lateAck, 'message')}: ${bodyText(lateAck)}`);

    // Fences through the queue until each node's consumer got one: anything a node still owed its
    // consumer (a third delivery) would come before a newer entry.
    const fences: string[] = [];
    const fenceOnA = (): RawFrame[] => onA().filter((f) => bodyText(f).startsWith('fence-'));
    const fenceOnB = (): IMessage[] => rescued.messages.filter((m) => m.body.startsWith('fence-'));
    for (let i = 0; i < 20 && (fenceOnA().length === 0 || fenceOnB().length === 0); i++) {
      const body = `fence-${i}`;
      fences.push(body);
      const delivered = await publishAll(producer, q, [body], {}, LONG)
        .then(() => eventually(() => fenceOnA().some((f) => bodyText(f) === body) || fenceOnB().some((m) => m.body === body), () => `${body} delivered nowhere`, LONG))
        .then(
          () => true,
          (e: Error) => {
            problems.push(e.message);
            return false;
          },
        );
      if (!delivered) break;
      for (const f of fenceOnA().filter((x) => bodyText(x) === body)) zombie.send(frame('ACK', { id: header(f, 'ack')! }));
    }
    if (fenceOnA().length === 0) problems.push(`A's consumer got none of ${fences.length} fences after the heal: node A does not consume the queue any more`);
    if (fenceOnB().length === 0) problems.push(`B's consumer got none of ${fences.length} fences after the heal`);
    const state = await queueEmptied(p.redis(), q, 'at the end', problems);
    if (state.bytes !== '' && state.bytes !== '0') problems.push(`the queue's byte counter is ${state.bytes} with nothing queued (an ACK counted twice?)`);

    const aBodies = onA().map(bodyText);
    const bBodies = rescued.bodies;
    problems.push(...sequenceProblems("A's consumer", aBodies, 'z-', n));
    // B got them through XAUTOCLAIM, possibly in several batches: order is not promised there (C7).
    problems.push(...sequenceProblems("B's consumer", [...bBodies].filter((b) => b.startsWith('z-')).sort((x, y) => Number(x.slice(2)) - Number(y.slice(2))), 'z-', n));
    for (const m of rescued.messages.filter((x) => x.body.startsWith('z-'))) {
      if (m.headers['redelivered'] !== 'true') problems.push(`B's copy of ${m.body} is not marked redelivered`);
    }
    for (const f of fences) {
      const times = aBodies.filter((b) => b === f).length + bBodies.filter((b) => b === f).length;
      if (times !== 1) problems.push(`${f} delivered ${times} times`);
    }
    problems.push(...calmProblems([zombieWatch, producerWatch, rescuer]));
    seen.push(`deliveries: A ${aBodies.join(',')}; B ${bBodies.join(',')}`);
    seen.push(`Redis at the end: ${JSON.stringify(state)}`);
    for (const s of seen) t.diagnostic(s);
    assert.deepEqual(problems, [], `${problems.join('\n')}\n${seen.join('\n')}\n${p.logs()}`);
  });
});

/** Why `tc netem` cannot slow the link here (undefined: it can). */
const noNetem = skip === undefined ? netemUnavailable() : undefined;

describe('partition: 300 ms of added delay on node A\'s Redis link', { skip }, () => {
  // Without netem in the kernel, a TCP relay on the host end of A's link adds the delay instead.
  // A slow link is not an outage: 300 ms more per round trip against the suite's usual 1 s deadline
  // left too little room on a loaded machine (a batch timed out once in CI); 2 s, under the default 3 s.
  const p = usePartitionCluster({ relay: noNetem !== undefined, env: { STOMPEDE_REDIS_TIMEOUT_MS: '2000' } });
  const slow = async (on: boolean): Promise<void> => {
    if (noNetem === undefined) await (on ? p.netns().netem(['delay', '300ms']) : p.netns().clearNetem());
    // As netem on the host end of the link does: what Redis sends to A is late, what A sends is not.
    else p.relay().setDelay(0, on ? 300 : 0);
  };

  test('topics and queues lose and repeat nothing on either node; B notices nothing', async (t) => {
    if (noNetem !== undefined) t.diagnostic(`no tc netem here (${noNetem}): the delay is added by a TCP relay between node A and Redis`);
    const dest = '/topic/p.slow';
    const q = '/queue/p.slow';
    const problems: string[] = [];
    const seen: string[] = [];
    const watchers = await topicWatchers(p, dest);
    const { onB, all, counts } = watchers;
    // Queue consumers on both nodes, acking what they get.
    const consumed = new Inbox();
    const consumers: Watched[] = [];
    for (const node of [p.a(), p.b()]) {
      const c = await p.stompjs(node);
      const mine = new Inbox();
      consumers.push(watchStompjs(`${node.nodeId}/stompjs-ws consumer`, c, mine));
      await subscribed(c, q, (m) => {
        mine.push(m);
        consumed.push(m);
        m.ack();
      }, { ack: 'client-individual', 'prefetch-count': '5' });
    }
    const pubARaw = await p.connectRaw(p.a(), 'tcp');
    const pubBClient = await p.stompjs(p.b());
    const queueProducer = await p.stompjs(p.a());
    const clients = [
      ...all,
      ...consumers,
      watchRaw('node-a/raw-tcp publisher', pubARaw),
      watchStompjs('node-b/stompjs-ws publisher', pubBClient),
      watchStompjs('node-a/stompjs-ws queue producer', queueProducer),
    ];
    const queued: string[] = [];
    const sendQueueBatch = async (name: string): Promise<void> => {
      const bodies = range(30, `${name}-`);
      await publishAll(queueProducer, q, bodies, {}, LONG);
      queued.push(...bodies);
    };

    const tickA = new Ticker('a-', (body) => pubARaw.send(frame('SEND', { destination: dest }, body)));
    const tickB = new Ticker('b-', (body) => pubBClient.publish({ destination: dest, body }));
    try {
      await eventually(() => all.every((w) => countOf(w, 'a-') >= 20 && countOf(w, 'b-') >= 20), () => `before the delay: ${counts()}`);
      await sendQueueBatch('q-before');

      await slow(true);
      const atSlow = tickA.count;
      const bAtSlow = new Map(onB.map((w) => [w, countOf(w, 'b-')]));
      // A queue batch while slow: its RECEIPT is late, not missing.
      await sendQueueBatch('q-slow').catch((e: Error) => problems.push(`queue SENDs on A while its Redis link is slow: ${e.message}`));
      await eventually(
        () => tickA.count >= atSlow + 150 && onB.every((w) => countOf(w, 'b-') >= bAtSlow.get(w)! + 50),
        () => `while slow: ${tickA.count - atSlow} published on A; ${counts()}`,
        LONG,
      ).catch((e: Error) => problems.push(`B's subscribers stalled while A's link was slow: ${e.message}`));
      const [nodes, up] = [await readMetric(p.b(), 'stompede_cluster_nodes'), await readMetric(p.a(), 'stompede_redis_up')];
      seen.push(`while slow: B stompede_cluster_nodes=${nodes}, A stompede_redis_up=${up}; ${counts()}`);
      if (nodes !== 2) problems.push(`B counted ${nodes} live nodes while A's link was only slow`);
      await slow(false);
      const fastA = tickA.count;
      await eventually(() => onB.every((w) => w.bodies().includes(`a-${fastA + 20}`)), () => `after the delay: ${counts()}`, LONG).catch((e: Error) =>
        problems.push(e.message),
      );
      await sendQueueBatch('q-after');
    } finally {
      tickA.stop();
      tickB.stop();
    }

    await fenceTopic(dest, pubARaw, pubBClient, watchers, [tickA, tickB], problems);

    // The queue: every message that got its RECEIPT consumed exactly once, none redelivered.
    await publishAll(queueProducer, q, ['q-fence'], {}, LONG).catch((e: Error) => problems.push(`queue fence: ${e.message}`));
    await eventually(
      () => [...queued, 'q-fence'].every((b) => consumed.bodies.includes(b)),
      () => `queue: consumed ${consumed.messages.length} of ${queued.length} and the fence`,
      LONG,
    ).catch((e: Error) => problems.push(e.message));
    const consumedBodies = consumed.bodies;
    const lostQ = queued.filter((b) => !consumedBodies.includes(b));
    if (lostQ.length > 0) problems.push(`queue lost ${lostQ.length} of ${queued.length}: ${lostQ.slice(0, 8).join(',')}`);
    const dupQ = consumedBodies.length - new Set(consumedBodies).size;
    if (dupQ > 0) problems.push(`queue delivered ${dupQ} messages twice`);
    const redelivered = consumed.messages.filter((m) => m.headers['redelivered'] === 'true').map((m) => m.body);
    if (redelivered.length > 0) problems.push(`queue redelivered ${redelivered.length} messages (A's leases lapsed?): ${redelivered.slice(0, 8).join(',')}`);
    await queueEmptied(p.redis(), q, 'at the end', problems);
    problems.push(...calmProblems(clients));
    const perNode = consumers.map((c) => `${c.name} ${c.bodies().length}`).join(', ');
    seen.push(`published: ${tickA.count} a-*, ${tickB.count} b-*, ${queued.length} queued; consumed per node: ${perNode}`);
    for (const s of seen) t.diagnostic(s);
    assert.deepEqual(problems, [], `${problems.join('\n')}\n${seen.join('\n')}\n${p.logs()}`);
  });
});
