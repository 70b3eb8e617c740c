// Queues across a 3-node cluster on a private Redis: competing consumers on different nodes with
// exactly-once counting, ACK/NACK and redelivery across nodes, dead-lettering past the delivery
// bound, and a SIGKILLed node whose unacked messages go to consumers on the other nodes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Client, IMessage } from '@stomp/stompjs';
import { useCluster } from './helpers/cluster.js';
import { eventually } from './helpers/expect.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { Inbox, publishAll, range, receipt, subscribed } from './helpers/stompjs.js';

const LONG = 20_000;

describe('cluster queues', { skip: redisUnavailable() }, () => {
  const { stompjs, node, logs } = useCluster({
    nodes: 3,
    env: { STOMPEDE_MAX_DELIVERIES: '3', STOMPEDE_DEAD_LETTER_DESTINATION: '/queue/dead-letter' },
  });

  /** Subscribes `client` to `queue` in client-individual mode; `decide` says ack or nack per message. */
  const consumer = async (
    client: Client,
    queue: string,
    all: Inbox,
    decide: (m: IMessage) => 'ack' | 'nack' | 'hold',
    prefetch = 5,
  ): Promise<void> => {
    await subscribed(client, queue, (m) => {
      all.push(m);
      const what = decide(m);
      if (what === 'ack') m.ack();
      else if (what === 'nack') m.nack();
    }, { ack: 'client-individual', 'prefetch-count': String(prefetch) });
  };

  test('messages sent on A while nobody consumes wait in Redis; a consumer on C gets them in order', async () => {
    const q = '/queue/waiting';
    await publishAll(await stompjs(0), q, range(50));
    const inbox = new Inbox();
    await subscribed(await stompjs(2), q, inbox.push);
    await inbox.until(50, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    assert.deepEqual(inbox.bodies, range(50));
    for (const m of inbox.messages) {
      assert.equal(m.headers['destination'], q);
      assert.equal(m.headers['redelivered'], undefined);
    }
    assert.equal(new Set(inbox.messages.map((m) => m.headers['message-id'])).size, 50, 'distinct message ids');
  });

  test('competing consumers on three nodes: each message delivered exactly once, every node takes a share', async () => {
    const q = '/queue/work';
    const all = new Inbox();
    const perNode = [new Inbox(), new Inbox(), new Inbox()];
    // Two consumers per node with small prefetch windows, acking what they get.
    for (const n of [0, 1, 2, 0, 1, 2]) {
      await consumer(await stompjs(n), q, all, (m) => {
        perNode[n]!.push(m);
        return 'ack';
      });
    }
    const producers = await Promise.all([stompjs(0), stompjs(2)]);
    const n = 300;
    await Promise.all(producers.map((p, k) => publishAll(p, q, range(n, `p${k}-`))));
    await all.until(2 * n, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    // Six more, then count: duplicates still on their way have arrived by then.
    await publishAll(producers[0]!, q, range(6, 'fence-'));
    await all.until(2 * n + 6, LONG);
    const bodies = all.bodies;
    assert.equal(bodies.length, 2 * n + 6, 'no message delivered twice');
    assert.deepEqual([...bodies].sort(), [...range(n, 'p0-'), ...range(n, 'p1-'), ...range(6, 'fence-')].sort(), 'every message delivered');
    for (const m of all.messages) assert.equal(m.headers['redelivered'], undefined, `${m.body} was not redelivered`);
    for (const [i, inbox] of perNode.entries()) assert.ok(inbox.messages.length > 0, `node ${i} consumed some (${perNode.map((x) => x.messages.length).join('/')})`);
  });

  test('NACK on one node redelivers, possibly on another node; ACK settles the message cluster-wide', async () => {
    const q = '/queue/nack-once';
    const all = new Inbox();
    // Consumers on B and C: NACK a first delivery, ACK a redelivery.
    for (const n of [1, 2]) await consumer(await stompjs(n), q, all, (m) => (m.headers['redelivered'] === 'true' ? 'ack' : 'nack'));
    const producer = await stompjs(0);
    const n = 30;
    await publishAll(producer, q, range(n));
    await all.until(2 * n, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    await publishAll(producer, q, ['fence']);
    await all.until(2 * n + 2, LONG);
    assert.equal(all.messages.length, 2 * n + 2, 'each message delivered exactly twice');
    for (const body of [...range(n), 'fence']) {
      const got = all.messages.filter((m) => m.body === body);
      assert.equal(got.length, 2, `${body}: one delivery and one redelivery`);
      assert.equal(got[0]!.headers['redelivered'], undefined, `${body}: first delivery`);
      assert.equal(got[1]!.headers['redelivered'], 'true', `${body}: redelivered after NACK`);
      assert.equal(got[1]!.headers['x-delivery-count'], '1', `${body}: one earlier delivery`);
      assert.equal(got[1]!.headers['message-id'], got[0]!.headers['message-id'], `${body}: same message-id`);
    }
  });

  test('a consumer on B that leaves with unacked messages: ACKed ones are gone, the others go to C', async () => {
    const q = '/queue/leave-unacked';
    const producer = await stompjs(0);
    const leaving = await stompjs(1);
    const got = new Inbox();
    await consumer(leaving, q, got, () => 'hold', 100);
    await publishAll(producer, q, range(10));
    await got.until(10, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    const acked = got.messages.filter((_, i) => i % 2 === 0);
    for (const [i, m] of acked.entries()) {
      if (i < acked.length - 1) m.ack();
      else {
        m.ack({ receipt: 'last-ack' });
        await receipt(leaving, 'last-ack', LONG);
      }
    }
    await leaving.deactivate();
    const other = new Inbox();
    await consumer(await stompjs(2), q, other, () => 'ack', 100);
    await other.until(5, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    await publishAll(producer, q, ['fence']);
    await other.until(6, LONG);
    assert.deepEqual(other.bodies.slice(0, 5).sort(), got.bodies.filter((_, i) => i % 2 === 1).sort(), 'exactly the unacked ones');
    assert.equal(other.messages.length, 6);
    assert.equal(other.bodies[5], 'fence');
    for (const m of other.messages.slice(0, 5)) assert.equal(m.headers['redelivered'], 'true');
  });

  test('NACKed past STOMPEDE_MAX_DELIVERIES on B: dead-lettered to a consumer on C', async () => {
    const q = '/queue/poison';
    const seen = new Inbox();
    await consumer(await stompjs(1), q, seen, () => 'nack');
    const dead = new Inbox();
    await subscribed(await stompjs(2), '/queue/dead-letter', dead.push);
    await publishAll(await stompjs(0), q, ['poison']);
    await dead.until(1, LONG).catch((e: Error) => assert.fail(`${e.message}; deliveries ${seen.messages.length}\n${logs()}`));
    assert.equal(seen.messages.length, 3, 'delivered three times');
    const d = dead.messages[0]!;
    assert.equal(d.body, 'poison');
    assert.equal(d.headers['x-death-reason'], 'delivery-limit');
    assert.equal(d.headers['x-original-destination'], q);
  });

  // Last: it kills node B.
  test('SIGKILL of node B holding unacked messages: all of them are redelivered to consumers on A and C', async () => {
    const q = '/queue/orphans';
    const producer = await stompjs(0);
    const held = new Inbox();
    const victim = await stompjs(1);
    let victimClosed = false;
    victim.onWebSocketClose = () => (victimClosed = true);
    await consumer(victim, q, held, () => 'hold', 50);
    const n = 30;
    await publishAll(producer, q, range(n));
    await held.until(n, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    // A topic subscriber on C that must not notice B's death.
    const bystander = await stompjs(2);
    let bystanderClosed = false;
    bystander.onWebSocketClose = () => (bystanderClosed = true);
    const chatter = new Inbox();
    await subscribed(bystander, '/topic/chatter', chatter.push);
    // The survivors consume from the start; they must get nothing until B is gone.
    const survivors = new Inbox();
    for (const n2 of [0, 2]) await consumer(await stompjs(n2), q, survivors, () => 'ack', 50);
    assert.equal(survivors.messages.length, 0, 'B holds every message');
    node(1).kill();
    await eventually(() => victimClosed, () => 'the victim client is disconnected');
    await publishAll(producer, '/topic/chatter', ['while-reclaiming']);
    await survivors.until(n, LONG).catch((e: Error) => assert.fail(`${e.message}; got ${survivors.bodies.join(',')}\n${logs()}`));
    await publishAll(producer, q, ['fence-0', 'fence-1']);
    await survivors.until(n + 2, LONG);
    assert.equal(survivors.messages.length, n + 2, 'each orphan redelivered once');
    assert.deepEqual(survivors.bodies.filter((b) => !b.startsWith('fence')).sort(), range(n).sort(), 'every orphan redelivered');
    for (const m of survivors.messages.filter((x) => !x.body.startsWith('fence'))) {
      assert.equal(m.headers['redelivered'], 'true', `${m.body} is marked redelivered`);
    }
    await chatter.until(1, LONG);
    await publishAll(producer, '/topic/chatter', ['after']);
    await chatter.until(2, LONG);
    assert.deepEqual(chatter.bodies, ['while-reclaiming', 'after']);
    assert.equal(bystanderClosed, false, "C's client did not notice");
  });
});
