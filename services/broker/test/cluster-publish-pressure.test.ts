// Publish pressure with real processes (docs/cluster.md "Publish pressure"): node B is frozen with
// SIGSTOP, so its consumer group of a topic stream stops moving and the stream, which is trimmed by
// its slowest reader, keeps everything B has not read. Node A's publishers feel the lag: a TCP
// publisher is paused (nothing lost), a WebSocket publisher that keeps sending is refused with
// ERROR `publisher too fast`, and past 90% of the hard bound every SEND is refused with ERROR
// `destination overloaded`. Each ERROR says how many SENDs were accepted, and exactly those reach
// every subscriber once B runs again. A stream that loses entries (XDEL, as Redis losing data)
// tells B's subscriber on the wire: x-resume-gap with the count.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { metricSum, useCluster, type ClusterNode } from './helpers/cluster.js';
import { eventually } from './helpers/expect.js';
import { bodyText, delay, frame, header, type RawClient, type RawFrame } from './helpers/raw-client.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { Redis } from 'ioredis';

const LONG = 20_000;
const LAG_PRESSURE = 100;
const HARD_BOUND = 1_000;
const MAX_HELD_INPUT_BYTES = 8_192;

const bodies = (c: RawClient, prefix: string): string[] =>
  c.frames.filter((f) => f.command === 'MESSAGE' && bodyText(f).startsWith(prefix)).map(bodyText);
const seq = (prefix: string, from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);

/** Sends `items` ten every 2 ms (a publisher the broker can slow down between reads), until `stop()`. */
async function paced(items: readonly string[], send: (item: string) => void, stop: () => boolean = () => false): Promise<void> {
  for (let i = 0; i < items.length && !stop(); i += 10) {
    for (const item of items.slice(i, i + 10)) send(item);
    await delay(2);
  }
}

/** Sends one frame with a receipt: the RECEIPT or the ERROR that answered it. */
async function answerTo(c: RawClient, command: string, headers: Record<string, string>, body: string): Promise<RawFrame> {
  const id = `r-${Math.random().toString(36).slice(2)}`;
  const answer = c.waitFor((f) => (f.command === 'RECEIPT' && header(f, 'receipt-id') === id) || f.command === 'ERROR', LONG, true);
  c.send(frame(command, { ...headers, receipt: id }, body));
  return answer;
}

describe('cluster publish pressure: a lagging node slows or refuses publishers, never loses silently', { skip: redisUnavailable() }, () => {
  const { connectRaw, node, redis, logs } = useCluster({
    nodes: 2,
    env: {
      STOMPEDE_REDIS_LAG_PRESSURE_ENTRIES: String(LAG_PRESSURE),
      STOMPEDE_REDIS_STREAM_MAX_ENTRIES: String(HARD_BOUND),
      STOMPEDE_REDIS_TRIM_INTERVAL_MS: '50',
      STOMPEDE_MAX_HELD_INPUT_BYTES: String(MAX_HELD_INPUT_BYTES),
      // A frozen node stays in the registry (its group keeps holding the stream) for the test's length.
      STOMPEDE_REDIS_NODE_TTL_MS: '5000',
      // Not an outage test: on a loaded machine a 1 s stall would make A count Redis as down and
      // take SENDs into its outbox, where no pressure applies.
      STOMPEDE_REDIS_TIMEOUT_MS: '5000',
      // A blocking read B sent before it was frozen is still served by Redis: up to this many
      // entries per stream move from the stream into B's socket buffer, and out of its lag (they
      // are delivered when B runs again, so they need no room in the stream). With the default
      // 1,000 that one read could take a whole test transaction and leave no lag to measure.
      STOMPEDE_REDIS_READ_COUNT: '10',
    },
  });
  let frozen: ClusterNode | undefined;
  const freeze = (n: ClusterNode): void => {
    process.kill(n.pid, 'SIGSTOP');
    frozen = n;
  };
  const thaw = (): void => {
    if (frozen !== undefined) process.kill(frozen.pid, 'SIGCONT');
    frozen = undefined;
  };
  after(thaw);

  async function subscriber(n: ClusterNode, destination: string): Promise<RawClient> {
    const c = await connectRaw(n, 'tcp');
    await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination }, '', LONG);
    return c;
  }

  /** Publishes `items` (with receipts) to `dest`, then deletes g-4 .. g-7 from its stream, as Redis losing data would. */
  async function loseFromStream(dest: string, items: readonly string[], pub: RawClient): Promise<void> {
    for (const body of items) await pub.sendWithReceipt('SEND', { destination: dest }, body, LONG);
    const cli = new Redis(redis().url, { lazyConnect: true });
    try {
      const key = (await cli.keys(`*:t:*${dest}`))[0]!;
      const entries = await cli.xrangeBuffer(key, '-', '+');
      const lost = entries.filter(([, fields]) => /g-[4-7]$/.test(fields[1]!.toString('latin1'))).map(([id]) => id.toString());
      assert.equal(lost.length, 4, `entries of ${key}: ${entries.length}`);
      await cli.xdel(key, ...lost);
    } finally {
      cli.disconnect();
    }
  }

  /** The node publishers on A are held on (publish pressure), read from A's /metrics. */
  const heldOnA = async (): Promise<number> => (await metricSum(node(0), 'stompede_publishers_held')) ?? -1;

  test('a TCP publisher is paused while B lags and resumed when B catches up: nothing lost, nothing refused', async () => {
    const dest = '/topic/press.tcp';
    const subs = [await subscriber(node(0), dest), await subscriber(node(1), dest)];
    const pub = await connectRaw(node(0), 'tcp');
    freeze(node(1));
    try {
      const n = 3_000;
      const sending = paced(seq('t-', 1, n), (body) => pub.send(frame('SEND', { destination: dest }, body)));
      await eventually(async () => (await heldOnA()) === 1, async () => `stompede_publishers_held on A is ${await heldOnA()}, A's subscriber got ${bodies(subs[0]!, 't-').length}\n${logs()}`, LONG);
      const whileHeld = bodies(subs[0]!, 't-').length;
      assert.ok(whileHeld < n, `A's own subscriber got ${whileHeld} of ${n} while the publisher was held`);
      thaw();
      await sending;
      await eventually(() => subs.every((s) => bodies(s, 't-').length >= n), () => `after B ran again: ${subs.map((s) => bodies(s, 't-').length).join(', ')} of ${n}\n${logs()}`, LONG);
      for (const s of subs) {
        assert.deepEqual(bodies(s, 't-'), seq('t-', 1, n), 'every message once, in publish order');
        assert.equal(s.frames.filter((f) => header(f, 'x-resume-gap') !== undefined).length, 0, 'no gap');
      }
      assert.equal(pub.frames.filter((f) => f.command === 'ERROR').length, 0, 'the paused publisher was never refused');
      assert.ok(((await metricSum(node(0), 'stompede_publisher_holds_total')) ?? 0) >= 1);
      await eventually(async () => (await heldOnA()) === 0, async () => `stompede_publishers_held on A stays ${await heldOnA()}`);
    } finally {
      thaw();
    }
  });

  test('a WebSocket publisher that keeps sending while held gets ERROR publisher too fast; exactly the accepted SENDs are delivered', async () => {
    const dest = '/topic/press.ws';
    const subs = [await subscriber(node(0), dest), await subscriber(node(1), dest)];
    const pub = await connectRaw(node(0), 'ws');
    freeze(node(1));
    try {
      const n = 5_000;
      const sending = paced(seq('w-', 1, n), (body) => pub.send(frame('SEND', { destination: dest }, body)), () => pub.frames.some((f) => f.command === 'ERROR'));
      const error = await pub.waitForCommand('ERROR', LONG);
      await sending;
      assert.equal(header(error, 'message'), 'publisher too fast');
      const accepted = Number(header(error, 'x-sends-accepted'));
      assert.ok(Number.isInteger(accepted) && accepted > 0 && accepted < n, `x-sends-accepted: ${header(error, 'x-sends-accepted')}`);
      await pub.waitClosed(LONG);
      thaw();
      const fence = await connectRaw(node(0), 'tcp');
      await fence.sendWithReceipt('SEND', { destination: dest }, 'w-end', LONG);
      await eventually(() => subs.every((s) => bodies(s, 'w-').includes('w-end')), () => `fence: ${subs.map((s) => bodies(s, 'w-').length).join(', ')}\n${logs()}`, LONG);
      for (const s of subs) assert.deepEqual(bodies(s, 'w-'), [...seq('w-', 1, accepted), 'w-end'], 'the accepted SENDs, each once, in order; none of the rest');
    } finally {
      thaw();
    }
  });

  test('near the hard bound every SEND is refused with ERROR destination overloaded; what was accepted is delivered', async () => {
    const dest = '/topic/press.full';
    const subs = [await subscriber(node(0), dest), await subscriber(node(1), dest)];
    freeze(node(1));
    try {
      // A transaction's SENDs are all published at its COMMIT: B falls past 90% of the hard bound at once.
      const tx = await connectRaw(node(0), 'tcp');
      const inTx = Math.ceil(HARD_BOUND * 0.95);
      tx.send(frame('BEGIN', { transaction: 'tx' }));
      tx.send(Buffer.concat(seq('x-', 1, inTx).map((body) => frame('SEND', { destination: dest, transaction: 'tx' }, body))));
      await tx.sendWithReceipt('COMMIT', { transaction: 'tx' }, '', LONG);
      // Publishers that come now are refused once A's trimmer measured the lag (every 50 ms).
      const probes: string[] = [];
      let refusal: RawFrame | undefined;
      for (let i = 1; refusal === undefined && i <= 100; i++) {
        const pub = await connectRaw(node(0), 'tcp');
        const answer = await answerTo(pub, 'SEND', { destination: dest }, `p-${i}`);
        if (answer.command === 'RECEIPT') probes.push(`p-${i}`);
        else refusal = answer;
      }
      assert.ok(refusal !== undefined, `no SEND was refused\n${logs()}`);
      assert.equal(header(refusal, 'message'), 'destination overloaded');
      assert.equal(header(refusal, 'x-sends-accepted'), '0');
      thaw();
      // Refused fences close their connection: each try gets a new one.
      await eventually(
        async () => (await answerTo(await connectRaw(node(0), 'tcp'), 'SEND', { destination: dest }, 'x-end')).command === 'RECEIPT',
        () => 'the destination never took a SEND again',
        LONG,
      );
      await eventually(() => subs.every((s) => bodies(s, '').includes('x-end')), () => `fence\n${logs()}`, LONG);
      for (const s of subs) {
        assert.deepEqual(bodies(s, ''), [...seq('x-', 1, inTx), ...probes, 'x-end'], 'the transaction, the accepted probes, the fence; nothing refused, nothing lost');
        assert.equal(s.frames.filter((f) => header(f, 'x-resume-gap') !== undefined).length, 0, 'no gap');
      }
    } finally {
      thaw();
    }
  });

  test('entries lost from the stream before B read them: B\'s subscriber is told on the next MESSAGE (x-resume-gap, x-gap-messages)', async () => {
    const dest = '/topic/press.gap';
    const sub = await subscriber(node(1), dest);
    const pub = await connectRaw(node(0), 'tcp');
    await pub.sendWithReceipt('SEND', { destination: dest }, 'g-1', LONG);
    await eventually(() => bodies(sub, 'g-').length === 1, () => 'g-1 on B');
    freeze(node(1));
    try {
      await loseFromStream(dest, seq('g-', 2, 10), pub);
    } finally {
      thaw();
    }
    await eventually(() => bodies(sub, 'g-').length === 6, () => `B got ${bodies(sub, 'g-').join(',')}`, LONG);
    assert.deepEqual(bodies(sub, 'g-'), ['g-1', 'g-2', 'g-3', 'g-8', 'g-9', 'g-10']);
    const after3 = sub.frames.filter((f) => f.command === 'MESSAGE').find((f) => bodyText(f) === 'g-8')!;
    assert.equal(header(after3, 'x-resume-gap'), 'true');
    assert.equal(header(after3, 'x-gap-messages'), '4');
    assert.ok(((await metricSum(node(1), 'stompede_cluster_gaps_total')) ?? 0) >= 4);
  });
});
