// Abuse limits against a live node (docs/security.md, "Limits"): connections per address and the
// connection rate per address (refused before a session exists), the SEND rate per connection (TCP
// is not read, WebSocket input is held then refused), the body size per destination prefix, the
// destinations of one publisher and a stalled partial frame. Each refusal is the documented ERROR
// and a close, is counted in stompede_limit_hits_total, and a well-behaved pair of clients on the
// same node keeps exchanging messages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { messages, unique, waitMessages } from './helpers/conformance-kit.js';
import { eventually, expectErrorThenClose } from './helpers/expect.js';
import { metric } from './helpers/metrics.js';
import { bodyText, delay, frame, header, RawClient, TRANSPORTS, type RawFrame } from './helpers/raw-client.js';
import { useHealthyPair } from './helpers/robustness.js';
import { http } from './helpers/sockjs.js';
import { useBroker, type BrokerSuite } from './helpers/suite.js';

async function expectLimit(c: RawClient, message: string, setting: string): Promise<RawFrame> {
  const e = await expectErrorThenClose(c, message, 15_000);
  assert.ok(bodyText(e).includes(setting), `ERROR body names ${setting}: ${bodyText(e)}`);
  return e;
}

async function hits(suite: BrokerSuite, limit: string): Promise<number> {
  return metric(suite.broker(), 'stompede_limit_hits_total', { limit });
}

describe('maxConnectionsPerIp', () => {
  const MAX = 4;
  const suite = useBroker({ env: { STOMPEDE_MAX_CONNECTIONS_PER_IP: String(MAX) } });
  const pair = useHealthyPair(suite, '/topic/per-ip-healthy');

  test('an address holds that many connections; one more gets ERROR before any session, over TCP and WebSocket', async () => {
    // The healthy pair holds two of this address's four.
    const third = await suite.connectRaw('tcp');
    const fourth = await suite.connectRaw('ws');
    const sessionsBefore = await metric(suite.broker(), 'stompede_connections_opened_total');
    for (const kind of TRANSPORTS) {
      const refused = await suite.openRaw(kind);
      await Promise.all([pair().exchange(5), expectLimit(refused, 'too many connections from this address', 'maxConnectionsPerIp')]);
      assert.deepEqual(refused.frames.map((f) => f.command), ['ERROR']);
    }
    assert.equal(await metric(suite.broker(), 'stompede_connections_opened_total'), sessionsBefore, 'refused before a session was opened');
    assert.equal(await hits(suite, 'maxConnectionsPerIp'), 2);
    // A connection that leaves frees its slot.
    third.close();
    // The transport releases the address's slot as the socket closes, before the session goes.
    await eventually(async () => (await metric(suite.broker(), 'stompede_connections')) < MAX, () => 'the closed connection was never released');
    const again = await suite.connectRaw('tcp');
    await again.sendWithReceipt('SEND', { destination: '/topic/per-ip' }, 'after a slot freed');
    fourth.close();
    await pair().exchange(5);
  });

  test('SockJS sessions count as connections of their address: an HTTP session past the limit gets 429 with the ERROR text, a framed WebSocket one the ERROR in SockJS framing', async () => {
    const base = `${suite.broker().httpUrl}/sockjs/000`;
    // Fill the address's slots up to one free (the healthy pair holds two): one SockJS session fits, the next does not.
    const held: RawClient[] = [];
    while ((await metric(suite.broker(), 'stompede_connections')) < MAX - 1) held.push(await suite.connectRaw('tcp'));
    const opened = await http('POST', `${base}/s-fits-${Date.now()}/xhr`);
    assert.equal(opened.status, 200);
    assert.equal(opened.body, 'o\n');
    const before = await hits(suite, 'maxConnectionsPerIp');
    const refused = await http('POST', `${base}/s-refused-${Date.now()}/xhr`);
    assert.equal(refused.status, 429);
    assert.match(refused.body, /^ERROR\n/);
    assert.match(refused.body, /message:too many connections from this address/);
    const ws = new WebSocket(`${suite.broker().httpUrl.replace('http', 'ws')}/sockjs/000/s-ws-${Date.now()}/websocket`);
    const received: string[] = [];
    ws.on('message', (data) => received.push(String(data)));
    await new Promise<void>((resolve) => ws.on('close', () => resolve()));
    const text = received.join('');
    assert.ok(text.startsWith('oa['), `open then a message frame, got ${JSON.stringify(text)}`);
    assert.match(text, /too many connections from this address/);
    assert.ok(text.endsWith('c[3000,"Go away!"]'));
    assert.equal(await hits(suite, 'maxConnectionsPerIp'), before + 2);
    for (const c of held) c.close();
    await pair().exchange(5);
  });
});

describe('connectionRatePerIp', () => {
  const RATE = 5;
  const BURST = 10;
  const suite = useBroker({ env: { STOMPEDE_CONNECTION_RATE_PER_IP: String(RATE), STOMPEDE_CONNECTION_BURST_PER_IP: String(BURST) } });
  const pair = useHealthyPair(suite, '/topic/rate-ip-healthy');

  test('an address opening connections faster than the rate gets ERROR connecting too fast; it may connect again once tokens come back', async () => {
    const started = Date.now();
    let accepted = 0;
    let refusal: RawClient | undefined;
    for (let i = 0; i < BURST * 3 && refusal === undefined; i++) {
      const c = await suite.openRaw(i % 2 === 0 ? 'tcp' : 'ws');
      c.send(frame('CONNECT', { 'accept-version': '1.2', host: '/', 'heart-beat': '0,0' }));
      const first = await c.next(10_000);
      if (first.command === 'CONNECTED') {
        accepted++;
        c.close();
      } else {
        refusal = c;
      }
    }
    assert.ok(refusal !== undefined, `no refusal in ${BURST * 3} fast connections`);
    await expectLimit(refusal, 'connecting too fast', 'connectionRatePerIp');
    // The bucket admits its depth plus what refilled meanwhile; the pair took two tokens earlier.
    const elapsedSec = (Date.now() - started) / 1000;
    assert.ok(accepted <= BURST + RATE * elapsedSec, `${accepted} accepted in ${elapsedSec} s`);
    assert.ok(await hits(suite, 'connectionRatePerIp') >= 1);
    await pair().exchange(5);
    await eventually(async () => {
      const c = await RawClient.tcp(suite.broker().tcpPort);
      c.send(frame('CONNECT', { 'accept-version': '1.2', host: '/', 'heart-beat': '0,0' }));
      const first = await c.next(10_000).catch(() => undefined);
      c.close();
      return first?.command === 'CONNECTED';
    }, () => 'never admitted again');
  });
});

describe('per-connection SEND limits and the frame timeout', () => {
  const RATE = 200;
  const BURST = 50;
  const FRAME_TIMEOUT_MS = 800;
  const suite = useBroker({
    env: {
      STOMPEDE_MAX_SENDS_PER_SECOND: String(RATE),
      STOMPEDE_SEND_BURST: String(BURST),
      STOMPEDE_MAX_HELD_INPUT_BYTES: '16384',
      STOMPEDE_MAX_BODY_BYTES: '/topic/=100,/topic/big/=1000,/queue/=10',
      STOMPEDE_MAX_PUBLISH_DESTINATIONS: '3',
      STOMPEDE_FRAME_TIMEOUT_MS: String(FRAME_TIMEOUT_MS),
    },
  });
  const pair = useHealthyPair(suite, '/topic/send-limits-healthy');

  test('TCP over maxSendsPerSecond is not read: everything arrives, in order, no faster than the rate, and no ERROR', async () => {
    const N = 600;
    const dest = unique('/topic/send-rate-');
    const sub = await suite.subscriber('tcp', dest);
    const pub = await suite.connectRaw('tcp');
    const started = Date.now();
    pub.send(Buffer.concat(Array.from({ length: N }, (_, i) => frame('SEND', { destination: dest }, String(i)))));
    // Sampled while the flood is throttled: never more than the bucket plus the refill so far.
    let sampled = 0;
    while (messages(sub).length < N && Date.now() - started < 30_000) {
      const got = messages(sub).length;
      const elapsedSec = (Date.now() - started) / 1000;
      assert.ok(got <= BURST + RATE * elapsedSec + 1, `${got} delivered after ${elapsedSec} s at ${RATE}/s`);
      sampled++;
      await delay(100);
    }
    await waitMessages(sub, N, undefined, 30_000);
    assert.deepEqual(messages(sub).map(bodyText), Array.from({ length: N }, (_, i) => String(i)));
    assert.ok(sampled > 5, 'the flood was throttled long enough to be sampled');
    assert.equal(pub.closed, false);
    assert.ok(await hits(suite, 'maxSendsPerSecond') >= 1);
    await pair().exchange(5);
  });

  test('a WebSocket over maxSendsPerSecond has its input held up to maxHeldInputBytes, then ERROR publisher too fast', async () => {
    const pub = await suite.connectRaw('ws');
    const dest = unique('/topic/send-rate-ws-');
    const flood = Array.from({ length: 400 }, (_, i) => frame('SEND', { destination: dest }, `m${i}`.padEnd(90, '.')));
    for (const f of flood) pub.send(f);
    const [, e] = await Promise.all([pair().exchange(5), expectLimit(pub, 'publisher too fast', 'maxSendsPerSecond')]);
    const accepted = Number(header(e, 'x-sends-accepted'));
    assert.ok(accepted >= BURST && accepted < flood.length, `x-sends-accepted ${accepted}`);
  });

  test('maxBodyBytes: the longest matching prefix decides; one byte over gets ERROR message too large with the receipt', async () => {
    const dest = unique('/topic/big/size-');
    const sub = await suite.subscriber('tcp', dest);
    const pub = await suite.connectRaw('tcp');
    await pub.sendWithReceipt('SEND', { destination: dest }, 'b'.repeat(1000));
    pub.send(frame('SEND', { destination: dest, receipt: 'too-big' }, 'b'.repeat(1001)));
    const e = await expectLimit(pub, 'message too large', 'maxBodyBytes');
    assert.equal(header(e, 'receipt-id'), 'too-big');
    const q = await suite.connectRaw('ws');
    q.send(frame('SEND', { destination: unique('/queue/size-') }, 'q'.repeat(11)));
    await expectLimit(q, 'message too large', 'maxBodyBytes');
    await pair().exchange(5);
    assert.equal(messages(sub).length, 1);
  });

  test('maxPublishDestinations: three distinct destinations, any number of times, then ERROR too many destinations', async () => {
    const pub = await suite.connectRaw('tcp');
    const dests = [unique('/topic/d-'), unique('/topic/d-'), unique('/queue/d-')];
    for (const d of [...dests, ...dests]) await pub.sendWithReceipt('SEND', { destination: d }, 'x');
    pub.send(frame('SEND', { destination: unique('/topic/d-') }, 'x'));
    await Promise.all([pair().exchange(5), expectLimit(pub, 'too many destinations', 'maxPublishDestinations')]);
  });

  for (const kind of TRANSPORTS) {
    test(`frameTimeoutMs over ${kind}: a frame left incomplete gets ERROR frame timeout; a slow but steady frame does not`, async () => {
      const stalled = await suite.connectRaw(kind);
      stalled.send('SEND\ndestination:/topic/stalled\ncontent-length:50\n\nonly part of the body');
      const steady = await suite.connectRaw(kind);
      const dest = unique('/topic/steady-');
      const sub = await suite.subscriber(kind, dest);
      const bytes = frame('SEND', { destination: dest }, 'steady');
      // Within the timeout as a whole, whatever the pauses between its pieces.
      const step = Math.ceil(bytes.length / 4);
      for (let at = 0; at < bytes.length; at += step) {
        steady.send(bytes.subarray(at, at + step));
        await delay(FRAME_TIMEOUT_MS / 8);
      }
      await Promise.all([pair().exchange(5), expectLimit(stalled, 'frame timeout', 'frameTimeoutMs'), waitMessages(sub, 1, undefined, 10_000)]);
      assert.equal(steady.closed, false);
      assert.ok(await hits(suite, 'frameTimeoutMs') >= 1);
    });
  }
});
