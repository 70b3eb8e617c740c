// Topics across a 3-node cluster on a private Redis: fan-out from any node to subscribers on every
// node (each message once, in order, one order cluster-wide), wildcard subscriptions discovering
// destinations first published on another node, and a SUBSCRIBE receipt that holds cluster-wide.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Client } from '@stomp/stompjs';
import { compareMessageIds, useCluster } from './helpers/cluster.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { Inbox, publishAll, range, receipt, subscribed } from './helpers/stompjs.js';

const LONG = 20_000;

/** Asserts the message-ids of `inbox` grow strictly (one destination). */
function assertIdsGrow(inbox: Inbox, who: string): void {
  const ids = inbox.messages.map((m) => m.headers['message-id']!);
  for (let i = 1; i < ids.length; i++) {
    assert.ok(compareMessageIds(ids[i - 1]!, ids[i]!) < 0, `${who}: message-id ${ids[i]} after ${ids[i - 1]}`);
  }
}

describe('cluster topics', { skip: redisUnavailable() }, () => {
  const { stompjs, logs } = useCluster({ nodes: 3 });

  test('a publisher on node A reaches subscribers on A, B and C: each message once, in order', async () => {
    const dest = '/topic/fanout';
    const inboxes: Inbox[] = [];
    for (const node of [0, 1, 2, 1, 2]) {
      const inbox = new Inbox();
      await subscribed(await stompjs(node), dest, inbox.push);
      inboxes.push(inbox);
    }
    const publisher = await stompjs(0);
    const n = 300;
    await publishAll(publisher, dest, range(n));
    // A last message: whatever copies were still on their way have arrived before it.
    await publishAll(publisher, dest, ['end']);
    for (const [i, inbox] of inboxes.entries()) {
      await inbox.until(n + 1, LONG).catch((e: Error) => assert.fail(`subscriber ${i}: ${e.message}\n${logs()}`));
      assert.deepEqual(inbox.bodies, [...range(n), 'end'], `subscriber ${i} gets every message once, in order`);
      for (const m of inbox.messages) assert.equal(m.headers['destination'], dest);
      assertIdsGrow(inbox, `subscriber ${i}`);
    }
    const ids = inboxes[0]!.messages.map((m) => m.headers['message-id']);
    for (const inbox of inboxes) assert.deepEqual(inbox.messages.map((m) => m.headers['message-id']), ids, 'one message-id per message, cluster-wide');
  });

  test('publishers on all three nodes: every subscriber sees the same single order, each publisher in its order', async () => {
    const dest = '/topic/three-publishers';
    const inboxes: Inbox[] = [];
    for (const node of [0, 1, 2]) {
      const inbox = new Inbox();
      await subscribed(await stompjs(node), dest, inbox.push);
      inboxes.push(inbox);
    }
    const publishers: Client[] = await Promise.all([0, 1, 2].map((node) => stompjs(node)));
    const n = 150;
    await Promise.all(publishers.map((p, k) => publishAll(p, dest, range(n, `p${k}-`))));
    for (const [k, p] of publishers.entries()) await publishAll(p, dest, [`end-${k}`]);
    for (const [i, inbox] of inboxes.entries()) {
      await inbox.until(3 * (n + 1), LONG).catch((e: Error) => assert.fail(`subscriber on node ${i}: ${e.message}\n${logs()}`));
      assert.equal(inbox.messages.length, 3 * (n + 1));
      for (let k = 0; k < 3; k++) {
        const mine = inbox.bodies.filter((b) => b.startsWith(`p${k}-`) || b === `end-${k}`);
        assert.deepEqual(mine, [...range(n, `p${k}-`), `end-${k}`], `subscriber on node ${i}: publisher ${k}'s messages once, in order`);
      }
      assertIdsGrow(inbox, `subscriber on node ${i}`);
    }
    assert.deepEqual(inboxes[1]!.bodies, inboxes[0]!.bodies, 'B sees the order A sees');
    assert.deepEqual(inboxes[2]!.bodies, inboxes[0]!.bodies, 'C sees the order A sees');
  });

  test('a wildcard subscriber on node B receives destinations first published on node A', async () => {
    const star = new Inbox();
    const hash = new Inbox();
    const b = await stompjs(1);
    await subscribed(b, '/topic/a.*', star.push);
    await subscribed(await stompjs(2), '/topic/chat.#', hash.push);
    const publisher = await stompjs(0);
    // Every destination is new: nothing was ever published to it before the subscriptions.
    const sends: [string, string][] = [
      ['/topic/a.new1', 'one'],
      ['/topic/a.x.y', 'not-star'],
      ['/topic/b.new1', 'other'],
      ['/topic/a.new2', 'two'],
      ['/topic/chat', 'chat-root'],
      ['/topic/chat.room1', 'chat-1'],
      ['/topic/chat.room1.thread7', 'chat-1-7'],
      ['/topic/chatter.x', 'not-chat'],
      ['/topic/a.new3', 'three'],
    ];
    for (const [destination, body] of sends) {
      const id = `w-${body}`;
      publisher.publish({ destination, body, headers: { receipt: id } });
      await receipt(publisher, id, LONG);
    }
    await star.until(3, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    await hash.until(3, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    // Fences: one more message each, so anything wrongly delivered has arrived.
    await publishAll(publisher, '/topic/a.fence', ['fence']);
    await publishAll(publisher, '/topic/chat.fence', ['fence']);
    await star.until(4, LONG);
    await hash.until(4, LONG);
    // One message per destination: no order between them is promised, only that each arrives once.
    const pairs = (inbox: Inbox): string[] => inbox.messages.map((m) => `${m.headers['destination']} ${m.body}`).sort();
    assert.deepEqual(pairs(star), ['/topic/a.fence fence', '/topic/a.new1 one', '/topic/a.new2 two', '/topic/a.new3 three']);
    assert.deepEqual(pairs(hash), ['/topic/chat chat-root', '/topic/chat.fence fence', '/topic/chat.room1 chat-1', '/topic/chat.room1.thread7 chat-1-7']);
  });

  test('the first message on each of many new destinations reaches a wildcard subscriber on another node', async () => {
    const inbox = new Inbox();
    await subscribed(await stompjs(2), '/topic/burst.*', inbox.push);
    const publisher = await stompjs(1);
    const n = 40;
    // No receipt between them: the destinations appear as fast as the publisher can send.
    for (let i = 0; i < n; i++) publisher.publish({ destination: `/topic/burst.d${i}`, body: `d${i}` });
    await publishAll(publisher, '/topic/burst.last', ['last']);
    await inbox.until(n + 1, LONG).catch((e: Error) => assert.fail(`${e.message}; got ${inbox.bodies.join(',')}\n${logs()}`));
    assert.deepEqual([...inbox.bodies].sort(), [...range(n, 'd'), 'last'].sort(), 'every first message, once');
  });

  test('SUBSCRIBE with a receipt, then a publish on another node right away: delivered (exact and wildcard)', async () => {
    const subscriber = await stompjs(1);
    const publisher = await stompjs(0);
    const rounds = 15;
    for (let i = 0; i < rounds; i++) {
      // Fresh destinations: each SUBSCRIBE is the node's first interest in them.
      const exact = new Inbox();
      const wild = new Inbox();
      await subscribed(subscriber, `/topic/race.${i}`, exact.push);
      publisher.publish({ destination: `/topic/race.${i}`, body: `exact-${i}` });
      await subscribed(subscriber, `/topic/racew.${i}.*`, wild.push);
      publisher.publish({ destination: `/topic/racew.${i}.x`, body: `wild-${i}` });
      await exact.until(1, LONG).catch((e: Error) => assert.fail(`round ${i}, exact: ${e.message}\n${logs()}`));
      await wild.until(1, LONG).catch((e: Error) => assert.fail(`round ${i}, wildcard: ${e.message}\n${logs()}`));
      assert.deepEqual(exact.bodies, [`exact-${i}`]);
      assert.deepEqual(wild.bodies, [`wild-${i}`]);
    }
  });

  test('SUBSCRIBE receipt on one node, publishes from the other two at once: nothing missed', async () => {
    const inbox = new Inbox();
    const publishers = await Promise.all([stompjs(0), stompjs(2)]);
    await subscribed(await stompjs(1), '/topic/late-join', inbox.push);
    await Promise.all(publishers.map((p, k) => publishAll(p, '/topic/late-join', range(50, `p${k}-`))));
    await inbox.until(100, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    for (let k = 0; k < 2; k++) assert.deepEqual(inbox.bodies.filter((b) => b.startsWith(`p${k}-`)), range(50, `p${k}-`));
  });

  test("after UNSUBSCRIBE on node B, that subscription gets nothing more; B's other subscriber and C still do", async () => {
    const dest = '/topic/unsub';
    const b = new Inbox();
    const bStays = new Inbox();
    const c = new Inbox();
    const bClient = await stompjs(1);
    const sub = await subscribed(bClient, dest, b.push);
    // Another subscriber on node B stays: when it has a message, node B has handled that message.
    await subscribed(await stompjs(1), dest, bStays.push);
    await subscribed(await stompjs(2), dest, c.push);
    const publisher = await stompjs(0);
    await publishAll(publisher, dest, ['before']);
    await b.until(1, LONG);
    const id = 'unsub-receipt';
    sub.unsubscribe({ receipt: id });
    await receipt(bClient, id, LONG);
    await publishAll(publisher, dest, ['after']);
    await c.until(2, LONG);
    await bStays.until(2, LONG);
    assert.deepEqual(b.bodies, ['before']);
    assert.deepEqual(bStays.bodies, ['before', 'after']);
    assert.deepEqual(c.bodies, ['before', 'after']);
  });
});
