// Resumable topic subscriptions across nodes: a subscriber whose node dies reconnects to another
// node with SUBSCRIBE `x-resume-after:<last message-id>` and gets what it missed, then live
// messages, with no gap and no duplicate; when history no longer reaches back, the first MESSAGE
// says so with `x-resume-gap:true`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareMessageIds, useCluster } from './helpers/cluster.js';
import { eventually } from './helpers/expect.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { Inbox, publishAll, range, subscribed } from './helpers/stompjs.js';

const LONG = 20_000;

function assertIdsGrow(inbox: Inbox): void {
  const ids = inbox.messages.map((m) => m.headers['message-id']!);
  for (let i = 1; i < ids.length; i++) assert.ok(compareMessageIds(ids[i - 1]!, ids[i]!) < 0, `message-id ${ids[i]} after ${ids[i - 1]}`);
}

describe('cluster resumable subscriptions', { skip: redisUnavailable() }, () => {
  const { stompjs, node, logs } = useCluster({
    nodes: 3,
    env: { STOMPEDE_HISTORY_MESSAGES: '/topic/=1000,/topic/short.=10' },
  });

  test('resuming right after the last message: nothing replayed, no gap, live messages follow', async () => {
    const dest = '/topic/quiet';
    const publisher = await stompjs(2);
    const first = new Inbox();
    const c1 = await stompjs(0);
    await subscribed(c1, dest, first.push);
    await publishAll(publisher, dest, range(3));
    await first.until(3, LONG);
    await c1.deactivate();
    const second = new Inbox();
    await subscribed(await stompjs(1), dest, second.push, { 'x-resume-after': first.messages[2]!.headers['message-id']! });
    await publishAll(publisher, dest, ['m-3', 'm-4']);
    await second.until(2, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    assert.deepEqual(second.bodies, ['m-3', 'm-4']);
    for (const m of second.messages) assert.equal(m.headers['x-resume-gap'], undefined);
  });

  test('history shorter than what was missed: the first MESSAGE carries x-resume-gap:true, the rest follows without holes', async () => {
    const dest = '/topic/short.feed';
    const publisher = await stompjs(2);
    const first = new Inbox();
    const c1 = await stompjs(0);
    await subscribed(c1, dest, first.push);
    await publishAll(publisher, dest, range(5));
    await first.until(5, LONG);
    await c1.deactivate();
    // Far more than the 10 kept for /topic/short. (Redis trims MAXLEN ~ in whole nodes of ~100).
    const n = 2000;
    await publishAll(publisher, dest, range(n, 'x-'));
    const second = new Inbox();
    await subscribed(await stompjs(1), dest, second.push, { 'x-resume-after': first.messages[4]!.headers['message-id']! });
    await publishAll(publisher, dest, ['end']);
    await eventually(() => second.bodies.includes('end'), () => `got ${second.messages.length}: ${second.bodies.slice(0, 5).join(',')}...\n${logs()}`);
    const [head, ...rest] = second.messages;
    assert.equal(head!.headers['x-resume-gap'], 'true', 'the first MESSAGE announces the gap');
    for (const m of rest) assert.equal(m.headers['x-resume-gap'], undefined, 'only the first MESSAGE carries x-resume-gap');
    const bodies = second.bodies;
    assert.ok(bodies.length < n + 1, `not the whole stream was kept (${bodies.length})`);
    const from = Number(bodies[0]!.slice(2));
    assert.deepEqual(bodies, [...range(n, 'x-').slice(from), 'end'], 'a contiguous tail, then live messages');
    assertIdsGrow(second);
  });

  // Last: it kills node A.
  test('subscriber on node A, A is SIGKILLed, it resumes on node B: zero loss, zero duplicates', async () => {
    const dest = '/topic/feed';
    const got = new Inbox();
    const onA = await stompjs(0);
    let closed = false;
    onA.onWebSocketClose = () => (closed = true);
    await subscribed(onA, dest, got.push);
    // A publisher on C keeps going through the whole episode.
    const publisher = await stompjs(2);
    let published = 0;
    const timer = setInterval(() => {
      for (let k = 0; k < 2; k++) publisher.publish({ destination: dest, body: `f-${published++}` });
    }, 5);
    try {
      await got.until(100, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
      node(0).kill();
      await eventually(() => closed, () => 'the client on A noticed its node died');
      const last = got.messages.at(-1)!;
      const lastId = last.headers['message-id']!;
      const atResume = published;
      await subscribed(await stompjs(1), dest, got.push, { 'x-resume-after': lastId });
      await eventually(() => got.messages.length >= atResume + 100, () => `got ${got.messages.length}, published ${published}\n${logs()}`);
    } finally {
      clearInterval(timer);
    }
    await publishAll(publisher, dest, ['end']);
    await eventually(() => got.bodies.includes('end'), () => `no "end": got ${got.messages.length} of ${published + 1}\n${logs()}`, LONG);
    const expected = [...range(published, 'f-'), 'end'];
    const missing = expected.filter((b) => !got.bodies.includes(b));
    assert.deepEqual(missing, [], `lost ${missing.length}`);
    assert.equal(new Set(got.bodies).size, got.bodies.length, 'no duplicates');
    assert.deepEqual(got.bodies, expected, 'every message once, in order');
    for (const m of got.messages) assert.equal(m.headers['x-resume-gap'], undefined, 'history reached back: no gap');
    assertIdsGrow(got);
  });
});
