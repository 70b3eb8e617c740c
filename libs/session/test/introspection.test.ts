// What the control plane reads off a node's session layer: sessions (login, counts, lookup, the
// per-transport gauge, the close listener), the counters behind /metrics, publish rates per
// destination over closed windows, and the destinations with local subscribers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CLIENT_COMMANDS, PUBLISH_WINDOW_MS } from '@stompede/session';
import { Kit, type Client } from './kit.js';

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

function sendAll(c: Client, destination: string, n: number): void {
  for (let i = 0; i < n; i++) c.send('SEND', { destination }, `m${i}`);
}

describe('sessions', () => {
  test('login, subscription and unacked counts, find and list', async () => {
    const kit = await Kit.create();
    const alice = kit.connected({ 'accept-version': '1.2', host: '/', login: 'alice', passcode: 'secret' });
    const anonymous = kit.connected();
    assert.equal(alice.session.login, 'alice');
    assert.equal(anonymous.session.login, undefined);
    assert.equal(alice.session.subscriptionCount, 0);
    assert.equal(alice.session.unackedCount, 0);

    alice.send('SUBSCRIBE', { id: 'jobs', destination: '/queue/jobs', ack: 'client-individual' });
    alice.send('SUBSCRIBE', { id: 'news', destination: '/topic/news' });
    sendAll(anonymous, '/queue/jobs', 3);
    kit.flush();
    const acks = alice.take().map((f) => f.h('ack')!);
    assert.equal(acks.length, 3);
    assert.equal(alice.session.subscriptionCount, 2);
    assert.equal(alice.session.unackedCount, 3);
    alice.send('ACK', { id: acks[1]! });
    kit.flush();
    assert.equal(alice.session.unackedCount, 2);
    // A reply queue is a subscription too.
    alice.send('SEND', { destination: '/queue/other', 'reply-to': '/temp-queue/r' }, 'q');
    kit.flush();
    assert.deepEqual([...alice.session.subscriptionList()].map((s) => s.id), ['jobs', 'news', '/temp-queue/r']);

    const connected = anonymous.transport.frames[0]!;
    assert.equal(connected.h('session'), `test-node:${anonymous.session.id}`);
    assert.equal(kit.hub.find(anonymous.session.id), anonymous.session);
    assert.equal(kit.hub.find('no-such-session'), undefined);
    assert.deepEqual([...kit.hub.list()], [alice.session, anonymous.session]);
  });

  test('connections by transport kind, and what a close removes', async () => {
    const kit = await Kit.create();
    const a = kit.connected();
    const b = kit.connected();
    const pending = kit.open(); // no CONNECT yet: still a connection
    assert.deepEqual([...kit.hub.connectionsByTransport], [['fake', 3]]);
    a.closed();
    assert.deepEqual([...kit.hub.connectionsByTransport], [['fake', 2]]);
    assert.equal(kit.hub.find(a.session.id), undefined);
    assert.deepEqual([...kit.hub.list()], [b.session, pending.session]);
    a.closed(); // a second close event changes nothing
    b.closed();
    pending.closed();
    assert.deepEqual([...kit.hub.connectionsByTransport], [['fake', 0]]);
    assert.equal(kit.hub.connections, 0);
    assert.equal(kit.hub.metrics.connectionsOpened, 3);
    assert.equal(kit.hub.metrics.connectionsClosed, 3);
  });

  test('a connection refused over maxConnections counts as an error, not as opened: opened - closed stays the open count', async () => {
    const kit = await Kit.create({ config: { maxConnections: 1 } });
    const accepted = kit.connected();
    const refused = kit.open();
    kit.flush();
    assert.equal(refused.take()[0]?.h('message'), 'too many connections');
    refused.closed();
    accepted.closed();
    const m = kit.hub.metrics;
    assert.equal(m.connectionsOpened - m.connectionsClosed, kit.hub.connections);
    assert.equal(m.connectionsOpened, 1);
    assert.equal(m.errors.get('too many connections'), 1);
  });

  test('onSessionClosed fires once per closed session until unsubscribed', async () => {
    const kit = await Kit.create();
    const [a, b, c] = [kit.connected(), kit.connected(), kit.connected()];
    let calls = 0;
    const unsubscribe = kit.hub.onSessionClosed(() => calls++);
    a.send('DISCONNECT', {});
    kit.flush();
    assert.equal(calls, 0, 'a session that is closing is not gone yet');
    a.closed();
    a.closed();
    assert.equal(calls, 1);
    b.closed();
    assert.equal(calls, 2);
    unsubscribe();
    c.closed();
    assert.equal(calls, 2);
  });
});

describe('metrics', () => {
  test('frames are counted by command; unknown commands all count as OTHER', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/a' });
    sendAll(c, '/topic/a', 2);
    kit.flush();
    for (const bogus of ['FROB', 'send']) kit.connected().send(bogus, {});
    kit.flush();
    const m = kit.hub.metrics;
    assert.deepEqual([...m.framesByCommand.keys()].sort(), [...CLIENT_COMMANDS, 'OTHER'].sort(), 'no label per unknown command');
    assert.equal(m.framesByCommand.get('CONNECT'), 3);
    assert.equal(m.framesByCommand.get('SUBSCRIBE'), 1);
    assert.equal(m.framesByCommand.get('SEND'), 2);
    assert.equal(m.framesByCommand.get('OTHER'), 2);
    assert.equal(m.framesByCommand.get('ACK'), 0);
    assert.equal(m.framesIn, 8);
    assert.equal(m.errors.get('unknown command'), 2);
  });

  test('the subscriptions gauge follows SUBSCRIBE, UNSUBSCRIBE, reply queues and closes', async () => {
    const kit = await Kit.create();
    const m = kit.hub.metrics;
    const a = kit.connected();
    const b = kit.connected();
    a.send('SUBSCRIBE', { id: '1', destination: '/topic/a' });
    a.send('SUBSCRIBE', { id: '2', destination: '/queue/q' });
    a.send('SEND', { destination: '/queue/q', 'reply-to': '/temp-queue/r' }, 'x');
    b.send('SUBSCRIBE', { id: '1', destination: '/topic/a', ack: 'client' });
    kit.flush();
    assert.equal(m.subscriptions, 4);
    a.send('UNSUBSCRIBE', { id: '1' });
    kit.flush();
    assert.equal(m.subscriptions, 3);
    a.closed();
    assert.equal(m.subscriptions, 1, 'a closed connection drops its subscriptions and reply queue');
    b.send('SUBSCRIBE', { id: '1', destination: '/topic/b' }); // duplicate id: refused, connection closes
    kit.flush();
    assert.equal(b.take().at(-1)?.h('message'), 'duplicate subscription');
    assert.equal(m.subscriptions, 0);
  });

  test('NACK requeue:false without a dead-letter destination counts as discarded', async () => {
    for (const deadLetterDestination of ['', '/queue/dlq']) {
      const kit = await Kit.create({ config: { deadLetterDestination } });
      const c = kit.connected();
      c.send('SUBSCRIBE', { id: 's', destination: '/queue/work', ack: 'client-individual' });
      sendAll(c, '/queue/work', 2);
      kit.flush();
      for (const f of c.take()) c.send('NACK', { id: f.h('ack')!, requeue: 'false' });
      kit.flush();
      const m = kit.hub.metrics;
      const expected = deadLetterDestination === '' ? [2, 0] : [0, 2];
      assert.deepEqual([m.messagesDiscarded, m.messagesDeadLettered], expected, `deadLetterDestination "${deadLetterDestination}"`);
    }
  });
});

describe('publish counts', () => {
  test('rates come from the last closed window; the first roll opens it', async () => {
    const kit = await Kit.create({ config: { vhosts: ['/', '/other'] } });
    const counts = kit.hub.router.publishCounts;
    const c = kit.connected();
    const elsewhere = kit.connected({ 'accept-version': '1.2', host: '/other' });
    sendAll(c, '/topic/early', 3); // before the first tick: counted in the first window
    kit.hub.tick();
    kit.advance(PUBLISH_WINDOW_MS - 1);
    sendAll(c, '/topic/a', 10);
    sendAll(c, '/queue/b', 5);
    sendAll(elsewhere, '/topic/a', 7);
    kit.hub.tick();
    assert.equal(counts.rate('/', '/topic/a'), 0, 'no window has closed yet');
    assert.deepEqual(counts.destinations('/'), []);
    kit.advance(1);
    kit.hub.tick();
    assert.equal(counts.rate('/', '/topic/a'), 2); // 10 in 5 s
    assert.equal(counts.rate('/', '/queue/b'), 1);
    assert.equal(counts.rate('/', '/topic/early'), 0.6);
    assert.equal(counts.rate('/other', '/topic/a'), 1.4);
    assert.equal(counts.rate('/', '/topic/none'), 0);
    assert.deepEqual(counts.destinations('/').sort(), ['/queue/b', '/topic/a', '/topic/early']);
    assert.deepEqual(counts.destinations('/other'), ['/topic/a']);
  });

  test('a late tick closes a longer window, and an older window is forgotten', async () => {
    const kit = await Kit.create();
    const counts = kit.hub.router.publishCounts;
    const c = kit.connected();
    kit.hub.tick();
    sendAll(c, '/topic/a', 14);
    kit.advance(7_000); // the hub did not tick for 7 s
    kit.hub.tick();
    assert.equal(counts.rate('/', '/topic/a'), 2, 'rate over the window as it really was');
    sendAll(c, '/topic/b', 5);
    kit.advance(PUBLISH_WINDOW_MS);
    kit.hub.tick();
    assert.deepEqual(counts.destinations('/'), ['/topic/b']);
    assert.equal(counts.rate('/', '/topic/a'), 0);
    kit.advance(PUBLISH_WINDOW_MS);
    kit.hub.tick();
    assert.deepEqual(counts.destinations('/'), [], 'nothing is kept for a window with no SEND');
    assert.equal(counts.rate('/', '/topic/b'), 0);
  });
});

describe('local destinations', () => {
  test('topics with subscriber counts across groups, patterns flagged, queues with consumers, no reply queues', async () => {
    const kit = await Kit.create();
    const clients = [kit.connected(), kit.connected(), kit.connected(), kit.connected()];
    const [a, b, c, d] = clients as [Client, Client, Client, Client];
    a.send('SUBSCRIBE', { id: 'sub-0', destination: '/topic/prices.eur' });
    b.send('SUBSCRIBE', { id: 'sub-0', destination: '/topic/prices.eur' }); // same group as a
    c.send('SUBSCRIBE', { id: 'other', destination: '/topic/prices.eur' }); // a group of its own
    d.send('SUBSCRIBE', { id: 'sub-0', destination: '/topic/prices.eur', ack: 'client' });
    d.send('SUBSCRIBE', { id: 'all', destination: '/topic/prices.*' });
    a.send('SUBSCRIBE', { id: 'w', destination: '/queue/work' });
    b.send('SUBSCRIBE', { id: 'w', destination: '/queue/work', ack: 'client' });
    c.send('SEND', { destination: '/queue/work', 'reply-to': '/temp-queue/answers' }, 'q');
    kit.flush();
    assert.deepEqual(kit.hub.router.localDestinations('/').sort(byName), [
      { name: '/queue/work', kind: 'queue', pattern: false, subscribers: 2 },
      { name: '/topic/prices.*', kind: 'topic', pattern: true, subscribers: 1 },
      { name: '/topic/prices.eur', kind: 'topic', pattern: false, subscribers: 4 },
    ]);
    assert.deepEqual(kit.hub.router.localDestinations('/nope'), []);
    for (const client of clients) client.closed();
    assert.deepEqual(kit.hub.router.localDestinations('/'), []);
  });
});
