// Request/reply with reply-to:/temp-queue/<name> (DESIGN-NOTES "Destinations"): the broker rewrites
// the header to a session-private /reply-queue/ and subscribes the requester to it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Kit } from './kit.js';

async function requestReply() {
  const kit = await Kit.create();
  const server = kit.connected();
  server.send('SUBSCRIBE', { id: 'req', destination: '/queue/requests' });
  kit.flush();
  const client = kit.connected();
  const sessionId = client.session.id;
  client.send('SEND', { destination: '/queue/requests', 'reply-to': '/temp-queue/answers', receipt: 'sent' }, 'question');
  kit.flush();
  const [request] = server.take();
  assert.ok(request);
  assert.deepEqual(client.take().map((f) => f.h('receipt-id')), ['sent']);
  return { kit, server, client, request, sessionId };
}

describe('reply queues', () => {
  test('reply-to is rewritten to /reply-queue/<node>/<session>/<name>', async () => {
    const { request, sessionId } = await requestReply();
    assert.equal(request.h('reply-to'), `/reply-queue/test-node/${sessionId}/answers`);
  });

  test('the reply reaches the requester on subscription /temp-queue/<name>', async () => {
    const { kit, server, client, request } = await requestReply();
    server.send('SEND', { destination: request.h('reply-to')!, 'correlation-id': '7' }, 'answer');
    kit.flush();
    const [reply] = client.take();
    assert.equal(reply?.command, 'MESSAGE');
    assert.equal(reply.h('subscription'), '/temp-queue/answers');
    assert.equal(reply.h('destination'), request.h('reply-to'));
    assert.equal(reply.h('correlation-id'), '7');
    assert.equal(reply.h('ack'), undefined); // the auto-subscription is ack:auto
    assert.equal(reply.text, 'answer');
  });

  test('replies to several requests with the same reply-to share one queue and subscription', async () => {
    const { kit, server, client, request } = await requestReply();
    client.send('SEND', { destination: '/queue/requests', 'reply-to': '/temp-queue/answers' }, 'q2');
    kit.flush();
    const [second] = server.take();
    assert.equal(second?.h('reply-to'), request.h('reply-to'));
    for (const a of ['a1', 'a2']) server.send('SEND', { destination: request.h('reply-to')! }, a);
    kit.flush();
    assert.deepEqual(client.takeBodies(), ['a1', 'a2']);
  });

  test('different temp names are different queues', async () => {
    const { kit, server, client } = await requestReply();
    client.send('SEND', { destination: '/queue/requests', 'reply-to': '/temp-queue/other' }, 'q2');
    kit.flush();
    const [second] = server.take();
    server.send('SEND', { destination: second!.h('reply-to')! }, 'x');
    kit.flush();
    assert.equal(client.take()[0]?.h('subscription'), '/temp-queue/other');
  });

  test('reply queues are private to their session: two sessions with the same temp name', async () => {
    const { kit, server, client, request } = await requestReply();
    const other = kit.connected();
    other.send('SEND', { destination: '/queue/requests', 'reply-to': '/temp-queue/answers' }, 'q');
    kit.flush();
    const [otherRequest] = server.take();
    assert.notEqual(otherRequest?.h('reply-to'), request.h('reply-to'));
    server.send('SEND', { destination: otherRequest!.h('reply-to')! }, 'for-other');
    kit.flush();
    assert.deepEqual(client.take(), []);
    assert.deepEqual(other.takeBodies(), ['for-other']);
  });

  test('a reply to an owner that left is dropped and counted as unroutable', async () => {
    const { kit, server, client, request } = await requestReply();
    client.send('DISCONNECT', {});
    kit.flush();
    client.closed();
    server.send('SEND', { destination: request.h('reply-to')!, receipt: 'r' }, 'too late');
    kit.flush();
    // The responder is not punished for it.
    assert.deepEqual(server.take().map((f) => f.command), ['RECEIPT']);
    assert.equal(kit.memory.stats().unroutable, 1);
    assert.equal(kit.memory.stats().queues, 1); // /queue/requests only: the reply queue is gone
  });

  test('UNSUBSCRIBE of the auto-subscription closes the reply queue', async () => {
    const { kit, server, client, request } = await requestReply();
    client.send('UNSUBSCRIBE', { id: '/temp-queue/answers' });
    kit.flush();
    server.send('SEND', { destination: request.h('reply-to')! }, 'x');
    kit.flush();
    assert.deepEqual(client.take(), []);
    assert.equal(kit.memory.stats().unroutable, 1);
  });

  test('replies still queued when the owner leaves are deleted with the queue', async () => {
    const { kit, server, client, request } = await requestReply();
    server.send('SEND', { destination: request.h('reply-to')! }, 'x');
    client.closed();
    kit.flush();
    assert.equal(kit.memory.stats().queuedMessages, 0);
  });

  test('only the first reply-to header is rewritten; other values pass through', async () => {
    const { kit, server, client } = await requestReply();
    client.send(
      'SEND',
      [
        ['destination', '/queue/requests'],
        ['reply-to', '/queue/replies'],
        ['reply-to', '/temp-queue/ignored'],
      ],
      'q',
    );
    kit.flush();
    const [r] = server.take();
    assert.deepEqual(r?.headers.values.filter((_, i) => r.headers.names[i] === 'reply-to'), ['/queue/replies', '/temp-queue/ignored']);
  });

  test('reply-to:/temp-queue/ without a name is refused', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SEND', { destination: '/queue/requests', 'reply-to': '/temp-queue/', receipt: 'r' }, 'q');
    kit.flush();
    const [e] = c.take();
    assert.equal(e?.h('message'), 'invalid reply-to');
    assert.equal(e.h('receipt-id'), 'r');
  });

  test('a subscription already named /temp-queue/<name> makes the reply-to a duplicate', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: '/temp-queue/answers', destination: '/topic/x' });
    c.send('SEND', { destination: '/queue/requests', 'reply-to': '/temp-queue/answers' }, 'q');
    kit.flush();
    assert.equal(c.take()[0]?.h('message'), 'duplicate subscription');
  });

  test('SUBSCRIBE to a /reply-queue/ is refused', async () => {
    const { kit, server, request } = await requestReply();
    server.send('SUBSCRIBE', { id: 'steal', destination: request.h('reply-to')! });
    kit.flush();
    assert.equal(server.take()[0]?.h('message'), 'invalid destination');
  });
});
