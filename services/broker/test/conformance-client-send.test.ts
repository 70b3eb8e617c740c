// STOMP 1.2 server checklist, section 2.4 client frames: unknown commands and SEND (rules #34-#36).
// The other client frames: conformance-client-subscribe.test.ts (SUBSCRIBE, UNSUBSCRIBE),
// conformance-client-transactions.test.ts, conformance-client-disconnect.test.ts, and for ACK/NACK
// conformance-client-acks.test.ts and conformance-client-redelivery.test.ts.
//
// "Nothing was delivered" is always proven with a barrier: a marker published after the frames in
// question, to the same destination. A subscription receives messages of one destination in publish
// order, so whatever had not arrived before the marker was never published.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { barrier, bodies, drain, sendAll, unique, waitMessages } from './helpers/conformance-kit.js';
import { expectErrorThenClose, refused } from './helpers/expect.js';
import { bodyText, frame, header, headerAll, TRANSPORTS, unescape12 } from './helpers/raw-client.js';
import { Inbox, subscribed } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';

const MAX_FRAME_BYTES = 2048;
const MAX_QUEUE_MESSAGES = 30;

/** The user headers of a MESSAGE: everything after the broker's own lines, without content-length. */
function userHeaders(m: { headers: readonly [string, string][] }): [string, string][] {
  const own = new Set(['subscription', 'message-id', 'destination', 'content-length', 'ack', 'redelivered', 'x-delivery-count']);
  return m.headers.filter(([k]) => !own.has(k));
}

describe('client frames: unknown commands and SEND (#34-#36)', () => {
  const { broker, connectRaw, stompjs } = useBroker({
    env: {
      STOMPEDE_MAX_FRAME_BYTES: String(MAX_FRAME_BYTES),
      STOMPEDE_MAX_HEADER_LINE_BYTES: '1024',
      STOMPEDE_MAX_QUEUE_MESSAGES: String(MAX_QUEUE_MESSAGES),
    },
  });

  // ---------------------------------------------------------------- #34 unknown commands

  test('#34 unknown commands get ERROR unknown command, then close (both transports)', async () => {
    const commands = ['FOO', 'send', 'Send', 'SUBSCRIBE ', ' SEND', 'MESSAGE', 'CONNECTED', 'RECEIPT', 'ERROR', 'SENDX'];
    for (const kind of TRANSPORTS) {
      for (const command of commands) {
        const e = await refused(broker(), frame(command, { destination: '/queue/c34', receipt: 'r34' }), 'unknown command', { receipt: 'r34', kind });
        assert.ok(bodyText(e).includes(JSON.stringify(command)), `the ERROR names ${JSON.stringify(command)}: ${bodyText(e)}`);
      }
    }
  });

  test('#34 an unknown command is not mistaken for a known one: lowercase send is not delivered', async () => {
    const q = unique('/queue/c34-lower-');
    // "send" is not SEND, so this is a non-SEND frame with a body: refused for the body first.
    await refused(broker(), frame('send', { destination: q }, 'lower'), 'unexpected body');
    assert.deepEqual(bodies(await drain(await connectRaw('tcp'), q)), []);
  });

  // ---------------------------------------------------------------- #35 SEND

  test('#35 SEND without destination gets ERROR missing header, then close', async () => {
    const e = await refused(broker(), frame('SEND', { receipt: 'r', 'x-a': '1' }, 'body'), 'missing header', { receipt: 'r' });
    assert.match(bodyText(e), /SEND requires the "destination" header/);
  });

  test('#35 SEND to a destination it cannot use gets ERROR, then close', async () => {
    const rows: [string, string][] = [
      ['/app/greeting', 'unknown destination prefix'],
      ['/exchange/amq.topic/x', 'unknown destination prefix'],
      ['topic/no-slash', 'unknown destination prefix'],
      ['/topic/a.*', 'invalid destination'],
      ['/topic/a.#', 'invalid destination'],
      ['/queue/jobs.*', 'invalid destination'],
      ['/temp-queue/replies', 'invalid destination'],
      ['/queue/', 'invalid destination'],
      ['', 'invalid destination'],
    ];
    for (const [destination, message] of rows) {
      for (const kind of TRANSPORTS) {
        await refused(broker(), frame('SEND', { destination, receipt: `r-${destination}` }, 'x'), message, { receipt: `r-${destination}`, kind });
      }
    }
  });

  test('#35 an over-size SEND gets ERROR frame too large, then close', async () => {
    const big = 'x'.repeat(MAX_FRAME_BYTES);
    for (const kind of TRANSPORTS) {
      // Declared by content-length (refused before the body is read) and without it.
      const e = await refused(broker(), frame('SEND', { destination: '/queue/c35-big', 'content-length': String(big.length) }, big), 'frame too large', { kind });
      assert.match(bodyText(e), /maxFrameBytes/);
      await refused(broker(), frame('SEND', { destination: '/queue/c35-big' }, big), 'frame too large', { kind });
    }
    // Just under the limit is fine.
    const c = await connectRaw('tcp');
    const head = frame('SEND', { destination: '/topic/c35-fits' }).length;
    await c.sendWithReceipt('SEND', { destination: '/topic/c35-fits' }, 'y'.repeat(MAX_FRAME_BYTES - head - 40));
  });

  test('#35 a SEND to a full queue gets ERROR queue full, then close, and is not enqueued', async () => {
    const q = unique('/queue/c35-full-');
    const pub = await connectRaw('tcp');
    const all = Array.from({ length: MAX_QUEUE_MESSAGES }, (_, i) => `m${i}`);
    await sendAll(pub, q, all);
    pub.send(frame('SEND', { destination: q, receipt: 'over' }, 'one too many'));
    const e = await expectErrorThenClose(pub, 'queue full');
    assert.equal(header(e, 'receipt-id'), 'over');
    assert.match(bodyText(e), /maxQueueMessages/);
    const sub = await connectRaw('tcp');
    await sub.sendWithReceipt('SUBSCRIBE', { id: 's', destination: q });
    assert.deepEqual(bodies(await waitMessages(sub, MAX_QUEUE_MESSAGES)), all);
    assert.deepEqual(bodies(await barrier(sub, sub, q)), all, 'the refused SEND was not enqueued');
  });

  test('#35 frames after a refused SEND in the same packet are not processed', async () => {
    const q = unique('/queue/c35-after-');
    const pub = await connectRaw('tcp');
    pub.send(Buffer.concat([frame('SEND', { destination: q }, 'before'), frame('SEND', { destination: '/nowhere/x' }, 'bad'), frame('SEND', { destination: q }, 'after')]));
    await expectErrorThenClose(pub, 'unknown destination prefix');
    assert.deepEqual(bodies(await drain(await connectRaw('tcp'), q)), ['before']);
  });

  // ---------------------------------------------------------------- #36 user headers

  test('#36 user headers of a SEND reach MESSAGE unchanged: order, repeats, escapes, spaces, UTF-8', async () => {
    const topic = unique('/topic/c36-');
    const sent: [string, string][] = [
      ['x-plain', 'value'],
      ['x-escaped', 'a\\cb\\nc\\\\d\\re'],
      ['x\\cname', 'escaped name'],
      ['x-rep', 'first'],
      ['x-rep', 'second'],
      ['x-empty', ''],
      ['x-space', ' padded '],
      ['x-utf8', 'héllo ✓ 日本'],
      ['content-type', 'application/json;charset=utf-8'],
      ['correlation-id', 'c-1'],
      ['priority', '9'],
    ];
    const sub = await connectRaw('tcp');
    const pub = await connectRaw('ws');
    const js = await stompjs();
    await sub.sendWithReceipt('SUBSCRIBE', { id: 's', destination: topic });
    const inbox = new Inbox();
    await subscribed(js, topic, inbox.push);
    pub.send(frame('SEND', [['destination', topic], ...sent, ['receipt', 'r36']], '{}'));
    await pub.waitFor((f) => f.command === 'RECEIPT' && header(f, 'receipt-id') === 'r36');
    const [m] = await waitMessages(sub, 1);
    // Same escaping on both sides (1.2), so the wire form round-trips exactly.
    assert.deepEqual(userHeaders(m!), sent);
    assert.equal(unescape12(header(m!, 'x-escaped')!), 'a:b\nc\\d\re');
    assert.equal(header(m!, 'x:name'), undefined);
    assert.equal(unescape12(userHeaders(m!)[2]![0]), 'x:name');
    // stompjs (which trims values and does not unescape names) sees the decoded values.
    const [j] = await inbox.until(1);
    assert.equal(j!.headers['x-escaped'], 'a:b\nc\\d\re');
    assert.equal(j!.headers['x-rep'], 'first', 'the first of repeated headers wins');
    assert.equal(j!.headers['x-empty'], '');
    assert.equal(j!.headers['x-utf8'], 'héllo ✓ 日本');
    assert.equal(j!.headers['content-type'], 'application/json;charset=utf-8');
    assert.equal(j!.body, '{}');
  });

  test('#36 headers the broker owns cannot be set through SEND', async () => {
    const q = unique('/queue/c36-own-');
    const sub = await connectRaw('tcp');
    await sub.sendWithReceipt('SUBSCRIBE', { id: 'mine', destination: q });
    await sub.sendWithReceipt(
      'SEND',
      { destination: q, 'message-id': 'forged', subscription: 'forged', ack: 'forged', redelivered: 'true', 'x-delivery-count': '7', 'x-user': 'kept' },
      'b',
    );
    const [m] = await waitMessages(sub, 1);
    assert.equal(headerAll(m!, 'message-id').length, 1);
    assert.notEqual(header(m!, 'message-id'), 'forged');
    assert.deepEqual(headerAll(m!, 'subscription'), ['mine']);
    assert.deepEqual(headerAll(m!, 'ack'), [], 'auto mode: no ack header');
    assert.deepEqual(headerAll(m!, 'redelivered'), []);
    assert.deepEqual(headerAll(m!, 'x-delivery-count'), []);
    assert.deepEqual(headerAll(m!, 'receipt'), [], 'receipt is not passed on');
    assert.equal(header(m!, 'x-user'), 'kept');
  });
});
