// Request/reply through `reply-to:/temp-queue/<name>`: the rewrite to a private /reply-queue/...,
// the implicit subscription, isolation between sessions, refused uses, and replies to a requester
// that has left.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Client, IMessage } from '@stomp/stompjs';
import { expectRefused } from './helpers/expect.js';
import { metric } from './helpers/metrics.js';
import { bodyText, frame, header } from './helpers/raw-client.js';
import { Inbox, publishAll, receipt, subscribed } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';

const LONG = 20_000;
const REPLY_QUEUE = /^\/reply-queue\/test-node\/[^/]+\/replies$/;

describe('reply queues', () => {
  const { broker, connectRaw, stompjs: open } = useBroker();
  /** A responder on `service` that answers every request on its reply-to with `re:<body>`. */
  const responder = async (service: string): Promise<{ client: Client; requests: Inbox }> => {
    const client = await open();
    const requests = new Inbox();
    await subscribed(client, service, (m) => {
      requests.push(m);
      client.publish({
        destination: m.headers['reply-to']!,
        body: `re:${m.body}`,
        headers: { 'correlation-id': m.headers['correlation-id'] ?? '' },
      });
    });
    return { client, requests };
  };
  /** Replies a stompjs client receives on subscriptions it did not make itself (reply queues). */
  const repliesOf = (client: Client): Inbox => {
    const inbox = new Inbox();
    client.onUnhandledMessage = inbox.push;
    return inbox;
  };

  test('request/reply between two stompjs clients', async () => {
    const service = await responder('/queue/service');
    const requester = await open();
    const replies = repliesOf(requester);
    for (const id of ['c1', 'c2']) {
      requester.publish({ destination: '/queue/service', body: `ask-${id}`, headers: { 'reply-to': '/temp-queue/replies', 'correlation-id': id } });
    }
    const got = await replies.until(2, LONG);
    const requests = await service.requests.until(2, LONG);
    const replyTo = requests[0]!.headers['reply-to']!;
    assert.match(replyTo, REPLY_QUEUE, 'the responder sees the rewritten reply queue');
    assert.equal(requests[1]!.headers['reply-to'], replyTo, 'one temp name, one reply queue per session');
    assert.deepEqual(got.map((m) => m.body), ['re:ask-c1', 're:ask-c2']);
    assert.deepEqual(got.map((m) => m.headers['correlation-id']), ['c1', 'c2']);
    for (const m of got) {
      assert.equal(m.headers['subscription'], '/temp-queue/replies');
      assert.equal(m.headers['destination'], replyTo);
    }
  });

  test('two sessions using the same temp name get distinct reply queues', async () => {
    await responder('/queue/shared-name');
    const requesters = [await connectRaw('tcp'), await connectRaw('ws')];
    const sessions: string[] = [];
    for (const [i, r] of requesters.entries()) {
      sessions.push(header(r.frames[0]!, 'session')!);
      r.send(frame('SEND', { destination: '/queue/shared-name', 'reply-to': '/temp-queue/replies', 'correlation-id': `r${i}` }, `from-${i}`));
    }
    const replies = await Promise.all(requesters.map((r) => r.waitForCommand('MESSAGE', LONG)));
    assert.notEqual(header(replies[0]!, 'destination'), header(replies[1]!, 'destination'));
    for (const [i, reply] of replies.entries()) {
      assert.equal(bodyText(reply), `re:from-${i}`);
      assert.equal(header(reply, 'subscription'), '/temp-queue/replies');
      const [node, n] = sessions[i]!.split(':');
      assert.equal(header(reply, 'destination'), `/reply-queue/${node}/${n}/replies`);
    }
    // Each got its own reply and nothing else.
    for (const r of requesters) {
      await r.sendWithReceipt('SEND', { destination: '/topic/nobody' }, 'sync');
      assert.equal(r.frames.filter((f) => f.command === 'MESSAGE').length, 1);
    }
  });

  test('/temp-queue/ as a destination, /reply-queue/ subscriptions and an empty temp name are refused', async () => {
    await expectRefused(broker(), 'SEND', { destination: '/temp-queue/x' }, 'invalid destination', { receipt: 't', body: 'x' });
    await expectRefused(broker(), 'SUBSCRIBE', { destination: '/temp-queue/x', id: '0' }, 'invalid destination', { receipt: 't' });
    const e = await expectRefused(broker(), 'SUBSCRIBE', { destination: '/reply-queue/test-node/1/replies', id: '0' }, 'invalid destination');
    assert.match(bodyText(e), /private/);
    await expectRefused(broker(), 'SEND', { destination: '/queue/service', 'reply-to': '/temp-queue/' }, 'invalid reply-to');
  });

  test('a reply-to that is not a temp queue passes through unchanged', async () => {
    const service = await open();
    const requests = new Inbox();
    await subscribed(service, '/queue/plain-reply-to', requests.push);
    const requester = await open();
    await publishAll(requester, '/queue/plain-reply-to', ['hi'], { 'reply-to': '/queue/my-replies' });
    const [m] = await requests.until(1, LONG);
    assert.equal(m!.headers['reply-to'], '/queue/my-replies');
  });

  test('a reply after the requester left is dropped and counted; the responder carries on', async () => {
    const service = await open();
    const requests = new Inbox();
    await subscribed(service, '/queue/slow-service', requests.push);
    const gone = await open();
    gone.publish({ destination: '/queue/slow-service', body: 'late', headers: { 'reply-to': '/temp-queue/replies' } });
    const [request] = await requests.until(1, LONG);
    await gone.deactivate();
    const before = await metric(broker(), 'stompede_deliveries_dropped_total', { reason: 'unroutable' });
    await publishAll(service, request!.headers['reply-to']!, ['too late']);
    assert.equal(await metric(broker(), 'stompede_deliveries_dropped_total', { reason: 'unroutable' }), before + 1);
    assert.equal(service.connected, true);
    // The same responder still serves a new requester.
    const fresh = await open();
    const replies = repliesOf(fresh);
    fresh.publish({ destination: '/queue/slow-service', body: 'now', headers: { 'reply-to': '/temp-queue/replies' } });
    const second = (await requests.until(2, LONG))[1]!;
    assert.notEqual(second.headers['reply-to'], request!.headers['reply-to']);
    await publishAll(service, second.headers['reply-to']!, ['in time']);
    const [reply] = await replies.until(1, LONG);
    assert.equal(reply!.body, 'in time');
  });

  test('UNSUBSCRIBE of the /temp-queue/ id deletes the reply queue', async () => {
    const service = await open();
    const requests = new Inbox();
    await subscribed(service, '/queue/unsub-service', requests.push);
    const requester = await open();
    const replies = repliesOf(requester);
    await publishAll(requester, '/queue/unsub-service', ['one'], { 'reply-to': '/temp-queue/replies' });
    const [first] = await requests.until(1, LONG);
    requester.unsubscribe('/temp-queue/replies', { receipt: 'unsub' });
    await receipt(requester, 'unsub', LONG);
    const before = await metric(broker(), 'stompede_deliveries_dropped_total', { reason: 'unroutable' });
    await publishAll(service, first!.headers['reply-to']!, ['dropped']);
    assert.equal(await metric(broker(), 'stompede_deliveries_dropped_total', { reason: 'unroutable' }), before + 1);
    // Using the temp name again opens a new reply queue that works.
    await publishAll(requester, '/queue/unsub-service', ['two'], { 'reply-to': '/temp-queue/replies' });
    const second = (await requests.until(2, LONG))[1]!;
    await publishAll(service, second.headers['reply-to']!, ['delivered']);
    const got: IMessage[] = await replies.until(1, LONG);
    assert.deepEqual(got.map((m) => m.body), ['delivered']);
  });
});
