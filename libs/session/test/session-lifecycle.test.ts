// Session state machine through a fake transport: CONNECT, refusals (ERROR then close), receipts
// and DISCONNECT. DESIGN-NOTES "Behaviour decisions" is the specification.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Kit, type Client, type Received } from './kit.js';

/** Asserts the client got exactly one ERROR (the last frame) and its transport was ended. */
function assertError(c: Client, message: string, receiptId?: string): Received {
  const frames = c.take();
  const last = frames.at(-1);
  assert.ok(last !== undefined, 'no frame written');
  assert.equal(last.command, 'ERROR', `expected ERROR, got ${last.command}`);
  assert.equal(last.h('message'), message);
  assert.equal(last.h('receipt-id'), receiptId);
  assert.equal(last.h('content-type'), 'text/plain;charset=utf-8');
  assert.equal(Number(last.h('content-length')), last.body.length);
  assert.ok(last.text.length > 0, 'details in the body');
  assert.equal(c.transport.ended, true, 'transport ended after ERROR');
  assert.equal(c.session.state, 'closing');
  return last;
}

describe('CONNECT', () => {
  test('CONNECTED carries version, heart-beat, session and server', async () => {
    const kit = await Kit.create();
    const c = kit.open();
    assert.equal(c.session.state, 'connecting');
    const f = c.connect({ 'accept-version': '1.1,1.2', host: 'localhost', 'heart-beat': '0,0', login: 'x', passcode: 'y' });
    assert.equal(f.command, 'CONNECTED');
    assert.equal(f.h('version'), '1.2');
    assert.equal(f.h('heart-beat'), '10000,10000');
    assert.equal(f.h('session'), 'test-node:1');
    assert.equal(f.h('server'), 'Stompede/0.1.0');
    assert.equal(c.session.state, 'connected');
    assert.equal(c.session.vhost, '/');
    assert.equal(c.transport.ended, false);
  });

  test('session ids are unique per connection', async () => {
    const kit = await Kit.create();
    const ids = [kit.open(), kit.open(), kit.open()].map((c) => c.connect().h('session'));
    assert.equal(new Set(ids).size, 3);
  });

  test('STOMP works like CONNECT; 1.0 gets no heart-beat header', async () => {
    const kit = await Kit.create();
    const c = kit.open();
    c.send('STOMP', {});
    kit.flush();
    const [f] = c.take();
    assert.equal(f?.command, 'CONNECTED');
    assert.equal(f.h('version'), '1.0');
    assert.equal(f.h('heart-beat'), undefined);
    assert.equal(c.session.version, '1.0');
  });

  test('refused CONNECT: ERROR with message, version header for version mismatch, then close', async () => {
    const kit = await Kit.create();
    const c = kit.open();
    c.send('CONNECT', { 'accept-version': '2.0', receipt: 'r1' });
    kit.flush();
    const e = assertError(c, 'unsupported protocol version', 'r1');
    assert.equal(e.h('version'), '1.0,1.1,1.2');
    assert.equal(kit.hub.metrics.errors.get('unsupported protocol version'), 1);
  });

  for (const [headers, message] of [
    [{ 'accept-version': '1.2', host: 'nope' }, 'unknown virtual host'],
    [{ 'accept-version': '1.2', 'heart-beat': 'x' }, 'invalid heart-beat'],
  ] as const) {
    test(`CONNECT refused with ${message}`, async () => {
      const kit = await Kit.create();
      const c = kit.open();
      c.send('CONNECT', headers);
      kit.flush();
      assertError(c, message);
    });
  }

  test('frames before CONNECT -> ERROR not connected', async () => {
    const kit = await Kit.create();
    const c = kit.open();
    c.send('SEND', { destination: '/topic/a', receipt: 'early' }, 'x');
    kit.flush();
    assertError(c, 'not connected', 'early');
  });

  test('second CONNECT -> ERROR already connected', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('CONNECT', { 'accept-version': '1.2' });
    kit.flush();
    assertError(c, 'already connected');
  });

  test('bytes after the ERROR are ignored', async () => {
    const kit = await Kit.create();
    const c = kit.open();
    c.send('NOPE', {});
    c.send('CONNECT', { 'accept-version': '1.2' });
    kit.flush();
    assertError(c, 'not connected');
    assert.equal(c.transport.frames.length, 1);
  });

  test('over maxConnections the session answers ERROR and closes', async () => {
    const kit = await Kit.create({ config: { maxConnections: 2 } });
    kit.open();
    kit.open();
    const third = kit.open();
    kit.flush();
    assertError(third, 'too many connections');
    assert.equal(kit.hub.connections, 2);
  });

  test('hub.close tells every client (ERROR server shutting down) and ends them', async () => {
    const kit = await Kit.create();
    const clients = [kit.connected(), kit.open()];
    await kit.hub.close();
    for (const c of clients) assertError(c, 'server shutting down');
  });

  test('onClosed detaches the session from the hub', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    assert.equal(kit.hub.connections, 1);
    c.closed();
    assert.equal(c.session.state, 'closed');
    assert.equal(kit.hub.connections, 0);
    assert.equal(kit.hub.metrics.connectionsClosed, 1);
  });
});

describe('ERROR paths of a connected session', () => {
  const cases: [string, Record<string, string>, string | undefined, string][] = [
    ['SEND', { receipt: 'r' }, 'x', 'missing header'],
    ['SUBSCRIBE', { destination: '/topic/a', receipt: 'r' }, undefined, 'missing header'],
    ['SUBSCRIBE', { id: '1', receipt: 'r' }, undefined, 'missing header'],
    ['UNSUBSCRIBE', { receipt: 'r' }, undefined, 'missing header'],
    ['UNSUBSCRIBE', { id: 'nope', receipt: 'r' }, undefined, 'unknown subscription'],
    ['ACK', { receipt: 'r' }, undefined, 'missing header'],
    ['ACK', { id: '1.1', receipt: 'r' }, undefined, 'unknown ack id'],
    ['NACK', { id: '1.1', receipt: 'r' }, undefined, 'unknown nack id'],
    ['BEGIN', { receipt: 'r' }, undefined, 'missing header'],
    ['COMMIT', { transaction: 't', receipt: 'r' }, undefined, 'unknown transaction'],
    ['ABORT', { transaction: 't', receipt: 'r' }, undefined, 'unknown transaction'],
    ['SUBSCRIBE', { id: '1', destination: '/topic/a', ack: 'sometimes', receipt: 'r' }, undefined, 'invalid ack mode'],
    ['SUBSCRIBE', { id: '1', destination: '/topic/a', 'prefetch-count': '-1', receipt: 'r' }, undefined, 'invalid prefetch-count'],
    ['SUBSCRIBE', { id: '1', destination: '/topic/a', 'prefetch-count': 'ten', receipt: 'r' }, undefined, 'invalid prefetch-count'],
    ['SUBSCRIBE', { id: '1', destination: '/queue/a.*', receipt: 'r' }, undefined, 'invalid destination'],
    ['SUBSCRIBE', { id: '1', destination: '/app/x', receipt: 'r' }, undefined, 'unknown destination prefix'],
    ['SEND', { destination: '/topic/a.*', receipt: 'r' }, 'x', 'invalid destination'],
    ['SEND', { destination: '/temp-queue/x', receipt: 'r' }, 'x', 'invalid destination'],
    ['SUBSCRIBE', { id: '1', destination: '/topic/a', receipt: 'r' }, 'body', 'unexpected body'],
    ['FROB', { receipt: 'r' }, undefined, 'unknown command'],
    ['send', { destination: '/topic/a', receipt: 'r' }, undefined, 'unknown command'],
  ];
  for (const [command, headers, body, message] of cases) {
    test(`${command} ${JSON.stringify(headers)} -> ${message}`, async () => {
      const kit = await Kit.create();
      const c = kit.connected();
      c.send(command, headers, body);
      kit.flush();
      assertError(c, message, 'r');
    });
  }

  test('duplicate subscription id', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/a' });
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/b', receipt: 'r' });
    kit.flush();
    assertError(c, 'duplicate subscription', 'r');
  });

  test('too many subscriptions', async () => {
    const kit = await Kit.create({ config: { maxSubscriptions: 2 } });
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/a' });
    c.send('SUBSCRIBE', { id: '2', destination: '/topic/b' });
    c.send('SUBSCRIBE', { id: '3', destination: '/topic/c' });
    kit.flush();
    assertError(c, 'too many subscriptions');
  });

  test('a parser error (malformed header) becomes ERROR and close', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.raw('SEND\ndestination:/topic/a\nno-colon-here\n\nx\0');
    kit.flush();
    assertError(c, 'malformed header');
  });

  test('frame too large names the limit', async () => {
    const kit = await Kit.create({ config: { maxFrameBytes: 256 } });
    const c = kit.connected();
    c.send('SEND', { destination: '/topic/a' }, 'x'.repeat(300));
    kit.flush();
    assert.match(assertError(c, 'frame too large').text, /maxFrameBytes/);
  });

  test('the closing session gives up its subscriptions', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/a' });
    c.send('SUBSCRIBE', { id: '2', destination: '/queue/q' });
    kit.flush();
    assert.deepEqual(kit.hub.router.stats('/'), { topics: 1, queues: 1 });
    c.send('FROB', {});
    kit.flush();
    assertError(c, 'unknown command');
    assert.deepEqual(kit.hub.router.stats('/'), { topics: 0, queues: 0 });
  });
});

describe('receipts and DISCONNECT', () => {
  test('every client frame with receipt gets a RECEIPT, in order', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: '1', destination: '/queue/q', ack: 'client', receipt: 'sub' });
    c.send('SEND', { destination: '/topic/t', receipt: 'send' }, 'x');
    c.send('BEGIN', { transaction: 't', receipt: 'begin' });
    c.send('SEND', { destination: '/queue/other', transaction: 't', receipt: 'tx-send' }, 'y');
    c.send('COMMIT', { transaction: 't', receipt: 'commit' });
    c.send('UNSUBSCRIBE', { id: '1', receipt: 'unsub' });
    kit.flush();
    const frames = c.take();
    assert.deepEqual(frames.map((f) => f.command), Array(6).fill('RECEIPT'));
    assert.deepEqual(frames.map((f) => f.h('receipt-id')), ['sub', 'send', 'begin', 'tx-send', 'commit', 'unsub']);
  });

  test('receipt ids are escaped per version and come back intact', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SEND', { destination: '/topic/t', receipt: 'a:b\nc\\d' }, 'x');
    kit.flush();
    assert.equal(c.take()[0]?.h('receipt-id'), 'a:b\nc\\d');
  });

  test('DISCONNECT with receipt: RECEIPT, then the transport is ended', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('DISCONNECT', { receipt: 'bye' });
    c.send('SEND', { destination: '/topic/t', receipt: 'ignored' }, 'x');
    kit.flush();
    const frames = c.take();
    assert.deepEqual(frames.map((f) => [f.command, f.h('receipt-id')]), [['RECEIPT', 'bye']]);
    assert.equal(c.transport.ended, true);
    assert.equal(c.session.state, 'closing');
    assert.equal(kit.hub.metrics.errors.size, 0);
  });

  test('DISCONNECT without receipt closes silently', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('DISCONNECT', {});
    kit.flush();
    assert.deepEqual(c.take(), []);
    assert.equal(c.transport.ended, true);
  });

  test('EOLs between frames are heart-beats, not frames', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.raw('\n\r\n\n');
    c.send('SEND', { destination: '/topic/t', receipt: 'r' }, 'x');
    c.raw('\n');
    kit.flush();
    assert.deepEqual(c.take().map((f) => f.command), ['RECEIPT']);
    assert.equal(kit.hub.metrics.framesIn, 2); // CONNECT + SEND
  });
});
