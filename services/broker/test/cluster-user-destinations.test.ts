// User destinations across a 3-node cluster over Redis, with real logins (a users file) and
// @stomp/stompjs clients (docs/security.md "User destinations"): the same user connected once on
// each node gets a message sent to /user/<login>/queue/<name> on every session exactly once, with
// destination:/user/queue/<name>; another user gets nothing; and a node with none of the user's
// sessions reads none of the user's stream (stompede_cluster_entries_read_total, as in
// cluster-interest.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Client, IMessage } from '@stomp/stompjs';
import { AdminHandle } from './helpers/admin.js';
import { metricSum, useCluster, type ClusterNode } from './helpers/cluster.js';
import { delay } from './helpers/raw-client.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { Inbox, publishAll, range, subscribed } from './helpers/stompjs.js';
import { usersFile } from './helpers/users.js';

const LONG = 20_000;
const ENTRIES = 'stompede_cluster_entries_read_total';
const BODY = 'x'.repeat(512);
const NOTES = '/user/queue/notes';
const USERS = { alice: 'alice-secret', bob: 'bob-secret', reports: 'reports-secret' };
const users = await usersFile(USERS);

async function entriesRead(node: ClusterNode): Promise<number> {
  const n = await metricSum(node, ENTRIES);
  assert.ok(n !== undefined, `${node.nodeId} does not export ${ENTRIES}`);
  return n;
}

/** The counter once it stopped moving (reads caused by setting up subscriptions are over). */
async function settled(node: ClusterNode): Promise<number> {
  let last = await entriesRead(node);
  for (let i = 0; i < 50; i++) {
    await delay(100);
    const now = await entriesRead(node);
    if (now === last) return now;
    last = now;
  }
  assert.fail(`${node.nodeId}: ${ENTRIES} keeps moving with no traffic (${last})`);
}

describe('user destinations across the cluster', { skip: redisUnavailable() }, () => {
  const { stompjs, node, logs, defer } = useCluster({
    nodes: 3,
    env: { STOMPEDE_AUTH: 'users', STOMPEDE_USERS_FILE: users },
  });
  const as = (login: keyof typeof USERS, i: number): Promise<Client> =>
    stompjs(i, { connectHeaders: { login, passcode: USERS[login] } });

  test('the same user on three nodes gets each message once per session; another user gets nothing', async () => {
    const alice = [new Inbox(), new Inbox(), new Inbox()];
    for (const [i, inbox] of alice.entries()) await subscribed(await as('alice', i), NOTES, inbox.push);
    const bob = new Inbox();
    await subscribed(await as('bob', 1), NOTES, bob.push);
    // A fourth client, on a node where Alice also is: sending needs no subscription of its own.
    const sender = await as('reports', 2);

    const bodies = range(20, 'note-');
    await publishAll(sender, '/user/alice/queue/notes', bodies);
    // A fence after them: a duplicate would arrive before it (one stream, one order).
    await publishAll(sender, '/user/alice/queue/notes', ['end']);
    for (const inbox of alice) await inbox.until(bodies.length + 1, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    await publishAll(sender, '/user/bob/queue/notes', ['for bob']);
    await bob.until(1, LONG);

    for (const [i, inbox] of alice.entries()) {
      assert.deepEqual(inbox.bodies, [...bodies, 'end'], `alice on node ${i}: each once, in order`);
      assert.ok(inbox.messages.every((m) => m.headers['destination'] === NOTES), 'MESSAGE destination is what was subscribed to');
    }
    const ids = (m: IMessage[]): string[] => m.map((x) => x.headers['message-id']!);
    assert.deepEqual(ids(alice[1]!.messages), ids(alice[0]!.messages), 'one message-id per message on every node');
    assert.deepEqual(ids(alice[2]!.messages), ids(alice[0]!.messages));
    assert.deepEqual(bob.bodies, ['for bob'], 'bob saw nothing of alice');
    assert.equal(bob.messages[0]!.headers['destination'], NOTES);

    // The admin API sees one stream for Alice's notes, with a subscriber on each node.
    const admin = new AdminHandle(node(0));
    defer(() => admin.close());
    const stream = (await admin.getDestination({ name: '/x-user/alice/queue/notes' })).destination!;
    assert.deepEqual(stream.subscribersByNode.map((s) => [s.nodeId, s.subscribers]).sort(), [['node-a', 1], ['node-b', 1], ['node-c', 1]]);
  });

  test("a node with none of the user's sessions reads none of the user's stream", async () => {
    // Alice only on node A; Bob on B, interested in his own notes only; C publishes.
    const alice = new Inbox();
    await subscribed(await as('alice', 0), '/user/topic/feed', alice.push);
    const bob = new Inbox();
    await subscribed(await as('bob', 1), '/user/topic/feed', bob.push);
    const sender = await as('reports', 2);
    const [b0, c0] = await Promise.all([settled(node(1)), settled(node(2))]);

    const n = 300;
    await publishAll(sender, '/user/alice/topic/feed', range(n, BODY));
    await alice.until(n, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    assert.equal(alice.messages.length, n);
    assert.equal((await entriesRead(node(1))) - b0, 0, "node B (Bob's, same destination name) read nothing of Alice's");
    assert.equal((await entriesRead(node(2))) - c0, 0, 'node C (the publisher only) read nothing');
    assert.deepEqual(bob.bodies, []);

    // B's counter does move for Bob's own messages.
    await publishAll(sender, '/user/bob/topic/feed', ['hi bob']);
    await bob.until(1, LONG);
    assert.ok((await entriesRead(node(1))) - b0 >= 1, 'node B read its own user\'s message');
  });
});
