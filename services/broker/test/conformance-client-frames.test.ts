// STOMP 1.2 server checklist, section 2.4 client frames: SEND, SUBSCRIBE, UNSUBSCRIBE, transactions
// and DISCONNECT (rules #34-#40, #44, #47-#49). ACK/NACK rules (#41-#43, #45, #46) are in
// conformance-client-acks.test.ts.
//
// "Nothing was delivered" is always proven with a barrier: a marker published after the frames in
// question, to the same destination. A subscription receives messages of one destination in publish
// order, so whatever had not arrived before the marker was never published.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBroker, type BrokerHandle } from './helpers/broker-process.js';
import { barrier, bodies, killAndWait, messages, sendAll, waitMessages } from './helpers/checklist.js';
import {
  bodyText,
  connectRaw,
  expectErrorThenClose,
  frame,
  header,
  headerAll,
  RawClient,
  TRANSPORTS,
  unescape12,
  unique,
} from './helpers/conformance-kit.js';
import { connectStompjs, Inbox, receipt } from './helpers/stompjs.js';

const MAX_FRAME_BYTES = 2048;
const MAX_QUEUE_MESSAGES = 30;
const MAX_SUBSCRIPTIONS = 6;
const MAX_TRANSACTIONS = 3;
const MAX_TRANSACTION_FRAMES = 5;

/** The user headers of a MESSAGE: everything after the broker's own lines, without content-length. */
function userHeaders(m: { headers: readonly [string, string][] }): [string, string][] {
  const own = new Set(['subscription', 'message-id', 'destination', 'content-length', 'ack', 'redelivered', 'x-delivery-count']);
  return m.headers.filter(([k]) => !own.has(k));
}

describe('client frames', () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker({
      env: {
        STOMPEDE_MAX_FRAME_BYTES: String(MAX_FRAME_BYTES),
        STOMPEDE_MAX_HEADER_LINE_BYTES: '1024',
        STOMPEDE_MAX_QUEUE_MESSAGES: String(MAX_QUEUE_MESSAGES),
        STOMPEDE_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS),
        STOMPEDE_MAX_TRANSACTIONS: String(MAX_TRANSACTIONS),
        STOMPEDE_MAX_TRANSACTION_FRAMES: String(MAX_TRANSACTION_FRAMES),
      },
    });
  });
  after(async () => {
    await broker.stop();
  });

  /** Connects, sends `bytes` (after `setup`, if any) and expects ERROR `message` then a close. */
  async function refused(
    bytes: Buffer,
    message: string,
    options: { setup?: (c: RawClient) => Promise<void>; receipt?: string; kind?: 'tcp' | 'ws' } = {},
  ) {
    const c = await connectRaw(broker, options.kind ?? 'tcp');
    try {
      await options.setup?.(c);
      const before = c.frames.length;
      c.send(bytes);
      const e = await expectErrorThenClose(c, message);
      assert.equal(header(e, 'receipt-id'), options.receipt, 'receipt-id of the failing frame');
      assert.deepEqual(c.frames.slice(before).map((f) => f.command), ['ERROR'], 'nothing but the ERROR answers the frame');
      return e;
    } finally {
      c.close();
    }
  }

  // ---------------------------------------------------------------- #34 unknown commands

  test('#34 unknown commands get ERROR unknown command, then close (both transports)', async () => {
    const commands = ['FOO', 'send', 'Send', 'SUBSCRIBE ', ' SEND', 'MESSAGE', 'CONNECTED', 'RECEIPT', 'ERROR', 'SENDX'];
    for (const kind of TRANSPORTS) {
      for (const command of commands) {
        const e = await refused(frame(command, { destination: '/queue/c34', receipt: 'r34' }), 'unknown command', { receipt: 'r34', kind });
        assert.ok(bodyText(e).includes(JSON.stringify(command)), `the ERROR names ${JSON.stringify(command)}: ${bodyText(e)}`);
      }
    }
  });

  test('#34 an unknown command is not mistaken for a known one: lowercase send is not delivered', async () => {
    const q = unique('/queue/c34-lower-');
    const c = await connectRaw(broker, 'tcp');
    try {
      // "send" is not SEND, so this is a non-SEND frame with a body: refused for the body first.
      c.send(frame('send', { destination: q }, 'lower'));
      await expectErrorThenClose(c, 'unexpected body');
    } finally {
      c.close();
    }
    const sub = await connectRaw(broker, 'tcp');
    try {
      await sub.sendWithReceipt('SUBSCRIBE', { id: 's', destination: q });
      assert.deepEqual(bodies(await barrier(sub, sub, q)), []);
    } finally {
      sub.close();
    }
  });

  // ---------------------------------------------------------------- #35 SEND

  test('#35 SEND without destination gets ERROR missing header, then close', async () => {
    const e = await refused(frame('SEND', { receipt: 'r', 'x-a': '1' }, 'body'), 'missing header', { receipt: 'r' });
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
        await refused(frame('SEND', { destination, receipt: `r-${destination}` }, 'x'), message, { receipt: `r-${destination}`, kind });
      }
    }
  });

  test('#35 an over-size SEND gets ERROR frame too large, then close', async () => {
    const big = 'x'.repeat(MAX_FRAME_BYTES);
    for (const kind of TRANSPORTS) {
      // Declared by content-length (refused before the body is read) and without it.
      const e = await refused(frame('SEND', { destination: '/queue/c35-big', 'content-length': String(big.length) }, big), 'frame too large', { kind });
      assert.match(bodyText(e), /maxFrameBytes/);
      await refused(frame('SEND', { destination: '/queue/c35-big' }, big), 'frame too large', { kind });
    }
    // Just under the limit is fine.
    const c = await connectRaw(broker, 'tcp');
    try {
      const head = frame('SEND', { destination: '/topic/c35-fits' }).length;
      await c.sendWithReceipt('SEND', { destination: '/topic/c35-fits' }, 'y'.repeat(MAX_FRAME_BYTES - head - 40));
    } finally {
      c.close();
    }
  });

  test('#35 a SEND to a full queue gets ERROR queue full, then close, and is not enqueued', async () => {
    const q = unique('/queue/c35-full-');
    const pub = await connectRaw(broker, 'tcp');
    const all = Array.from({ length: MAX_QUEUE_MESSAGES }, (_, i) => `m${i}`);
    try {
      await sendAll(pub, q, all);
      pub.send(frame('SEND', { destination: q, receipt: 'over' }, 'one too many'));
      const e = await expectErrorThenClose(pub, 'queue full');
      assert.equal(header(e, 'receipt-id'), 'over');
      assert.match(bodyText(e), /maxQueueMessages/);
    } finally {
      pub.close();
    }
    const sub = await connectRaw(broker, 'tcp');
    try {
      await sub.sendWithReceipt('SUBSCRIBE', { id: 's', destination: q });
      assert.deepEqual(bodies(await waitMessages(sub, MAX_QUEUE_MESSAGES)), all);
      assert.deepEqual(bodies(await barrier(sub, sub, q)), all, 'the refused SEND was not enqueued');
    } finally {
      sub.close();
    }
  });

  test('#35 frames after a refused SEND in the same packet are not processed', async () => {
    const q = unique('/queue/c35-after-');
    const pub = await connectRaw(broker, 'tcp');
    try {
      pub.send(Buffer.concat([frame('SEND', { destination: q }, 'before'), frame('SEND', { destination: '/nowhere/x' }, 'bad'), frame('SEND', { destination: q }, 'after')]));
      await expectErrorThenClose(pub, 'unknown destination prefix');
    } finally {
      pub.close();
    }
    const sub = await connectRaw(broker, 'tcp');
    try {
      await sub.sendWithReceipt('SUBSCRIBE', { id: 's', destination: q });
      assert.deepEqual(bodies(await barrier(sub, sub, q)), ['before']);
    } finally {
      sub.close();
    }
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
    const sub = await connectRaw(broker, 'tcp');
    const pub = await connectRaw(broker, 'ws');
    const js = await connectStompjs(broker.wsUrl);
    try {
      await sub.sendWithReceipt('SUBSCRIBE', { id: 's', destination: topic });
      const inbox = new Inbox();
      js.subscribe(topic, inbox.push, { receipt: 'js-36' });
      await receipt(js, 'js-36');
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
    } finally {
      sub.close();
      pub.close();
      await js.deactivate();
    }
  });

  test('#36 headers the broker owns cannot be set through SEND', async () => {
    const q = unique('/queue/c36-own-');
    const sub = await connectRaw(broker, 'tcp');
    try {
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
    } finally {
      sub.close();
    }
  });

  // ---------------------------------------------------------------- #37 transactional SEND

  test('#37 transactional SENDs reach subscribers only on COMMIT, in order, and never after ABORT', async () => {
    const topic = unique('/topic/c37-');
    const q = unique('/queue/c37-');
    const sub = await connectRaw(broker, 'tcp');
    const pub = await connectRaw(broker, 'tcp');
    try {
      await sub.sendWithReceipt('SUBSCRIBE', { id: 't', destination: topic });
      await sub.sendWithReceipt('SUBSCRIBE', { id: 'q', destination: q });
      await pub.sendWithReceipt('BEGIN', { transaction: 'tx1' });
      for (const b of ['a', 'b']) {
        await pub.sendWithReceipt('SEND', { destination: topic, transaction: 'tx1' }, b);
        await pub.sendWithReceipt('SEND', { destination: q, transaction: 'tx1' }, b);
      }
      assert.deepEqual(bodies(await barrier(pub, sub, topic, 't')), [], 'nothing before COMMIT (topic)');
      assert.deepEqual(bodies(await barrier(pub, sub, q, 'q')), [], 'nothing before COMMIT (queue)');
      await pub.sendWithReceipt('COMMIT', { transaction: 'tx1' });
      assert.deepEqual(bodies(await barrier(pub, sub, topic, 't')), ['a', 'b']);
      assert.deepEqual(bodies(await barrier(pub, sub, q, 'q')), ['a', 'b']);

      await pub.sendWithReceipt('BEGIN', { transaction: 'tx2' });
      await pub.sendWithReceipt('SEND', { destination: topic, transaction: 'tx2' }, 'aborted');
      await pub.sendWithReceipt('SEND', { destination: q, transaction: 'tx2' }, 'aborted');
      await pub.sendWithReceipt('ABORT', { transaction: 'tx2' });
      assert.deepEqual(bodies(await barrier(pub, sub, topic, 't')), ['a', 'b'], 'nothing after ABORT (topic)');
      assert.deepEqual(bodies(await barrier(pub, sub, q, 'q')), ['a', 'b'], 'nothing after ABORT (queue)');
      // A committed transaction cannot be committed again.
      pub.send(frame('COMMIT', { transaction: 'tx1' }));
      await expectErrorThenClose(pub, 'unknown transaction');
    } finally {
      sub.close();
      pub.close();
    }
  });

  test('#37 stompjs transactions: begin, publish with transaction, commit / abort', async () => {
    const topic = unique('/topic/c37-js-');
    const sub = await connectStompjs(broker.wsUrl);
    const pub = await connectStompjs(broker.wsUrl);
    try {
      const inbox = new Inbox();
      sub.subscribe(topic, inbox.push, { receipt: 'sub' });
      await receipt(sub, 'sub');
      const aborted = pub.begin();
      pub.publish({ destination: topic, body: 'aborted', headers: { transaction: aborted.id } });
      aborted.abort();
      const committed = pub.begin();
      pub.publish({ destination: topic, body: 'one', headers: { transaction: committed.id } });
      pub.publish({ destination: topic, body: 'two', headers: { transaction: committed.id } });
      committed.commit();
      pub.publish({ destination: topic, body: 'after' });
      await inbox.until(3);
      assert.deepEqual(inbox.bodies, ['one', 'two', 'after']);
    } finally {
      await sub.deactivate();
      await pub.deactivate();
    }
  });

  // ---------------------------------------------------------------- #38 SUBSCRIBE

  test('#38 SUBSCRIBE without id or destination gets ERROR missing header, then close', async () => {
    for (const kind of TRANSPORTS) {
      const e1 = await refused(frame('SUBSCRIBE', { destination: '/topic/c38', receipt: 'r1' }), 'missing header', { receipt: 'r1', kind });
      assert.match(bodyText(e1), /SUBSCRIBE requires the "id" header/);
      const e2 = await refused(frame('SUBSCRIBE', { id: '0', receipt: 'r2' }), 'missing header', { receipt: 'r2', kind });
      assert.match(bodyText(e2), /SUBSCRIBE requires the "destination" header/);
    }
  });

  test('#38 a subscription that cannot be created gets ERROR, then close', async () => {
    const rows: [Record<string, string>, string][] = [
      [{ destination: '/app/chat' }, 'unknown destination prefix'],
      [{ destination: '/user/queue/errors' }, 'unknown destination prefix'],
      [{ destination: '/queue/jobs.*' }, 'invalid destination'],
      [{ destination: '/queue/jobs.#' }, 'invalid destination'],
      [{ destination: '/reply-queue/test-node/1/x' }, 'invalid destination'],
      [{ destination: '/temp-queue/x' }, 'invalid destination'],
      [{ destination: '' }, 'invalid destination'],
      [{ destination: '/topic/c38', 'prefetch-count': 'abc' }, 'invalid prefetch-count'],
      [{ destination: '/topic/c38', 'prefetch-count': '-1' }, 'invalid prefetch-count'],
      [{ destination: '/topic/c38', 'prefetch-count': '1.5' }, 'invalid prefetch-count'],
    ];
    for (const [headers, message] of rows) {
      await refused(frame('SUBSCRIBE', { id: 'x', ...headers, receipt: 'r38' }), message, { receipt: 'r38' });
    }
  });

  test('#38 one subscription over maxSubscriptions gets ERROR too many subscriptions, then close', async () => {
    await refused(frame('SUBSCRIBE', { id: 'over', destination: '/topic/c38-max', receipt: 'r' }), 'too many subscriptions', {
      receipt: 'r',
      setup: async (c) => {
        for (let i = 0; i < MAX_SUBSCRIPTIONS; i++) await c.sendWithReceipt('SUBSCRIBE', { id: `s${i}`, destination: `/topic/c38-max.${i}` });
      },
    });
  });

  // ---------------------------------------------------------------- #39 duplicate ids

  test('#39 a duplicate subscription id gets ERROR duplicate subscription, then close (same or other destination)', async () => {
    for (const destination of ['/topic/c39', '/queue/c39-other', '/topic/c39.*']) {
      const e = await refused(frame('SUBSCRIBE', { id: 'dup', destination, receipt: 'r39' }), 'duplicate subscription', {
        receipt: 'r39',
        setup: async (c) => {
          await c.sendWithReceipt('SUBSCRIBE', { id: 'dup', destination: '/topic/c39' });
        },
      });
      assert.match(bodyText(e), /"dup"/);
    }
  });

  test('#39 ids are per connection and reusable after UNSUBSCRIBE; one destination may have several ids', async () => {
    const topic = unique('/topic/c39-ok-');
    const a = await connectRaw(broker, 'tcp');
    const b = await connectRaw(broker, 'ws');
    try {
      await a.sendWithReceipt('SUBSCRIBE', { id: 'same', destination: topic });
      await b.sendWithReceipt('SUBSCRIBE', { id: 'same', destination: topic });
      await a.sendWithReceipt('SUBSCRIBE', { id: 'second', destination: topic });
      await a.sendWithReceipt('UNSUBSCRIBE', { id: 'same' });
      await a.sendWithReceipt('SUBSCRIBE', { id: 'same', destination: topic });
      await a.sendWithReceipt('SEND', { destination: topic }, 'hi');
      const got = await waitMessages(a, 2);
      assert.deepEqual(got.map((m) => header(m, 'subscription')).sort(), ['same', 'second']);
      assert.deepEqual(bodies(await waitMessages(b, 1)), ['hi']);
      assert.equal(header(messages(b)[0]!, 'subscription'), 'same');
    } finally {
      a.close();
      b.close();
    }
  });

  // ---------------------------------------------------------------- #40 ack modes

  test('#40 an invalid ack value gets ERROR invalid ack mode, then close', async () => {
    for (const ack of ['Client', 'AUTO', 'none', '', 'client-individual ', 'individual']) {
      const e = await refused(frame('SUBSCRIBE', { id: 's', destination: '/queue/c40', ack, receipt: 'r40' }), 'invalid ack mode', { receipt: 'r40' });
      assert.ok(bodyText(e).includes(JSON.stringify(ack)), bodyText(e));
    }
  });

  test('#40 no ack header behaves as ack:auto: no ack header on MESSAGE, nothing redelivered after a failure', async () => {
    for (const ack of [undefined, 'auto']) {
      const q = unique('/queue/c40-auto-');
      const c1 = await connectRaw(broker, 'tcp');
      await c1.sendWithReceipt('SUBSCRIBE', ack === undefined ? { id: 's', destination: q } : { id: 's', destination: q, ack });
      await sendAll(c1, q, ['one', 'two']);
      const got = await waitMessages(c1, 2);
      for (const m of got) assert.equal(header(m, 'ack'), undefined, 'no ack header in auto mode');
      await killAndWait(broker, c1); // abrupt: auto-acked messages count as processed
      const c2 = await connectRaw(broker, 'tcp');
      try {
        await c2.sendWithReceipt('SUBSCRIBE', { id: 's', destination: q });
        assert.deepEqual(bodies(await barrier(c2, c2, q)), [], `ack ${ack ?? '(none)'}: nothing comes back`);
      } finally {
        c2.close();
      }
    }
  });

  test('#40 ack:client and ack:client-individual are accepted and carry an ack header', async () => {
    const c = await connectRaw(broker, 'tcp');
    try {
      for (const ack of ['client', 'client-individual']) {
        const q = unique(`/queue/c40-${ack}-`);
        await c.sendWithReceipt('SUBSCRIBE', { id: ack, destination: q, ack });
        await c.sendWithReceipt('SEND', { destination: q }, ack);
        const [m] = await waitMessages(c, 1, ack);
        assert.ok(header(m!, 'ack'), `${ack}: ack header present`);
      }
    } finally {
      c.close();
    }
  });

  // ---------------------------------------------------------------- #44 UNSUBSCRIBE

  test('#44 after the RECEIPT for UNSUBSCRIBE no MESSAGE arrives for that subscription', async () => {
    for (const kind of TRANSPORTS) {
      const topic = unique('/topic/c44-');
      const c = await connectRaw(broker, kind);
      const pub = await connectRaw(broker, 'tcp');
      try {
        // Two subscriptions to one destination; the one that stays is the barrier.
        await c.sendWithReceipt('SUBSCRIBE', { id: 'gone', destination: topic });
        await c.sendWithReceipt('SUBSCRIBE', { id: 'stays', destination: topic });
        await pub.sendWithReceipt('SEND', { destination: topic }, 'before');
        await waitMessages(c, 1, 'stays');
        await waitMessages(c, 1, 'gone');
        await c.sendWithReceipt('UNSUBSCRIBE', { id: 'gone' });
        const receiptAt = c.frames.length;
        for (let i = 0; i < 20; i++) await pub.sendWithReceipt('SEND', { destination: topic }, `after-${i}`);
        await waitMessages(c, 21, 'stays');
        assert.deepEqual(
          c.frames.slice(receiptAt).filter((f) => f.command === 'MESSAGE' && header(f, 'subscription') === 'gone').map(bodyText),
          [],
          `${kind}: MESSAGE for an unsubscribed id`,
        );
      } finally {
        c.close();
        pub.close();
      }
    }
  });

  test('#44 UNSUBSCRIBE gives unacked queue messages back to the queue', async () => {
    const q = unique('/queue/c44-requeue-');
    const c = await connectRaw(broker, 'tcp');
    const other = await connectRaw(broker, 'tcp');
    try {
      await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: q, ack: 'client-individual' });
      await sendAll(c, q, ['one', 'two']);
      await waitMessages(c, 2, 'c');
      await c.sendWithReceipt('UNSUBSCRIBE', { id: 'c' });
      await other.sendWithReceipt('SUBSCRIBE', { id: 'o', destination: q });
      const got = await waitMessages(other, 2);
      assert.deepEqual(bodies(got), ['one', 'two']);
      for (const m of got) assert.equal(header(m, 'redelivered'), 'true');
      // Settling a message of a subscription that is gone is an error.
      c.send(frame('ACK', { id: header(messages(c)[0]!, 'ack')! }));
      await expectErrorThenClose(c, 'unknown ack id');
    } finally {
      c.close();
      other.close();
    }
  });

  test('#44 UNSUBSCRIBE of an unknown id gets ERROR unknown subscription; without id ERROR missing header', async () => {
    await refused(frame('UNSUBSCRIBE', { id: 'never', receipt: 'r44' }), 'unknown subscription', { receipt: 'r44' });
    await refused(frame('UNSUBSCRIBE', { id: 'twice' }), 'unknown subscription', {
      setup: async (c) => {
        await c.sendWithReceipt('SUBSCRIBE', { id: 'twice', destination: '/topic/c44-twice' });
        await c.sendWithReceipt('UNSUBSCRIBE', { id: 'twice' });
      },
    });
    // 1.2 has no unsubscribe-by-destination.
    await refused(frame('UNSUBSCRIBE', { destination: '/topic/c44-d', receipt: 'r' }), 'missing header', {
      receipt: 'r',
      setup: async (c) => {
        await c.sendWithReceipt('SUBSCRIBE', { id: 'd', destination: '/topic/c44-d' });
      },
    });
  });

  // ---------------------------------------------------------------- #47 transaction errors

  test('#47 BEGIN, COMMIT and ABORT require transaction', async () => {
    for (const command of ['BEGIN', 'COMMIT', 'ABORT']) {
      const e = await refused(frame(command, { receipt: 'r47' }), 'missing header', { receipt: 'r47' });
      assert.match(bodyText(e), new RegExp(`${command} requires the "transaction" header`));
    }
  });

  test('#47 COMMIT or ABORT of an unknown transaction, and a duplicate BEGIN, get ERROR, then close', async () => {
    await refused(frame('COMMIT', { transaction: 'nope', receipt: 'c' }), 'unknown transaction', { receipt: 'c' });
    await refused(frame('ABORT', { transaction: 'nope', receipt: 'a' }), 'unknown transaction', { receipt: 'a' });
    await refused(frame('BEGIN', { transaction: 't', receipt: 'b' }), 'duplicate transaction', {
      receipt: 'b',
      setup: async (c) => {
        await c.sendWithReceipt('BEGIN', { transaction: 't' });
      },
    });
    // Finished transactions are unknown.
    await refused(frame('ABORT', { transaction: 'done' }), 'unknown transaction', {
      setup: async (c) => {
        await c.sendWithReceipt('BEGIN', { transaction: 'done' });
        await c.sendWithReceipt('ABORT', { transaction: 'done' });
      },
    });
    await refused(frame('SEND', { destination: '/topic/c47', transaction: 'nope' }, 'x'), 'unknown transaction');
    // Transaction ids are per connection.
    await refused(frame('COMMIT', { transaction: 'elsewhere' }), 'unknown transaction', {
      setup: async () => {
        const other = await connectRaw(broker, 'tcp');
        await other.sendWithReceipt('BEGIN', { transaction: 'elsewhere' });
        other.close();
      },
    });
  });

  test('#47 transaction ids are reusable once finished; several may be open at once', async () => {
    const topic = unique('/topic/c47-ok-');
    const c = await connectRaw(broker, 'tcp');
    try {
      await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: topic });
      for (let round = 0; round < 3; round++) {
        await c.sendWithReceipt('BEGIN', { transaction: 'a' });
        await c.sendWithReceipt('BEGIN', { transaction: 'b' });
        await c.sendWithReceipt('SEND', { destination: topic, transaction: 'a' }, `a${round}`);
        await c.sendWithReceipt('SEND', { destination: topic, transaction: 'b' }, `b${round}`);
        await c.sendWithReceipt('COMMIT', { transaction: 'b' });
        await c.sendWithReceipt('COMMIT', { transaction: 'a' });
      }
      assert.deepEqual(bodies(await barrier(c, c, topic)), ['b0', 'a0', 'b1', 'a1', 'b2', 'a2']);
    } finally {
      c.close();
    }
  });

  test('#47 limits: more than maxTransactions open, or more than maxTransactionFrames in one, get ERROR', async () => {
    await refused(frame('BEGIN', { transaction: 'over', receipt: 'r' }), 'too many transactions', {
      receipt: 'r',
      setup: async (c) => {
        for (let i = 0; i < MAX_TRANSACTIONS; i++) await c.sendWithReceipt('BEGIN', { transaction: `t${i}` });
      },
    });
    await refused(frame('SEND', { destination: '/topic/c47-big', transaction: 't', receipt: 'r' }, 'over'), 'transaction too large', {
      receipt: 'r',
      setup: async (c) => {
        await c.sendWithReceipt('BEGIN', { transaction: 't' });
        for (let i = 0; i < MAX_TRANSACTION_FRAMES; i++) await c.sendWithReceipt('SEND', { destination: '/topic/c47-big', transaction: 't' }, `m${i}`);
      },
    });
  });

  // ---------------------------------------------------------------- #48 implicit abort

  test('#48 BEGIN, SEND, then the socket dies: nothing is delivered', async () => {
    for (const kind of TRANSPORTS) {
      const topic = unique('/topic/c48-');
      const q = unique('/queue/c48-');
      const sub = await connectRaw(broker, 'tcp');
      try {
        await sub.sendWithReceipt('SUBSCRIBE', { id: 't', destination: topic });
        await sub.sendWithReceipt('SUBSCRIBE', { id: 'q', destination: q });
        const pub = await connectRaw(broker, kind);
        await pub.sendWithReceipt('BEGIN', { transaction: 'tx' });
        await pub.sendWithReceipt('SEND', { destination: topic, transaction: 'tx' }, 'uncommitted');
        await pub.sendWithReceipt('SEND', { destination: q, transaction: 'tx' }, 'uncommitted');
        await killAndWait(broker, pub); // no DISCONNECT, no COMMIT
        assert.deepEqual(bodies(await barrier(sub, sub, topic, 't')), [], `${kind}: topic`);
        assert.deepEqual(bodies(await barrier(sub, sub, q, 'q')), [], `${kind}: queue`);
      } finally {
        sub.close();
      }
    }
  });

  test('#48 DISCONNECT with an open transaction aborts it', async () => {
    const q = unique('/queue/c48-disc-');
    const pub = await connectRaw(broker, 'tcp');
    await pub.sendWithReceipt('BEGIN', { transaction: 'tx' });
    await pub.sendWithReceipt('SEND', { destination: q, transaction: 'tx' }, 'uncommitted');
    await pub.sendWithReceipt('DISCONNECT', {});
    await pub.waitClosed();
    const sub = await connectRaw(broker, 'tcp');
    try {
      await sub.sendWithReceipt('SUBSCRIBE', { id: 'q', destination: q });
      assert.deepEqual(bodies(await barrier(sub, sub, q)), []);
    } finally {
      sub.close();
    }
  });

  // ---------------------------------------------------------------- #49 DISCONNECT

  test('#49 DISCONNECT with receipt: RECEIPT arrives, then the broker closes', async () => {
    for (const kind of TRANSPORTS) {
      const c = await connectRaw(broker, kind);
      try {
        c.send(frame('DISCONNECT', { receipt: 'bye-1' }));
        const r = await c.waitForCommand('RECEIPT');
        assert.equal(header(r, 'receipt-id'), 'bye-1');
        await c.waitClosed();
        assert.deepEqual(c.frames.map((f) => f.command), ['CONNECTED', 'RECEIPT'], `${kind}: nothing but the RECEIPT`);
        assert.equal(r.body.length, 0);
      } finally {
        c.close();
      }
    }
  });

  test('#49 DISCONNECT without receipt: the broker closes without ERROR', async () => {
    for (const kind of TRANSPORTS) {
      const c = await connectRaw(broker, kind);
      try {
        c.send(frame('DISCONNECT'));
        await c.waitClosed();
        assert.deepEqual(c.frames.map((f) => f.command), ['CONNECTED']);
      } finally {
        c.close();
      }
    }
  });

  test('#49 DISCONNECT behind pending output: the 300 MESSAGEs routed before it, then the RECEIPT, then close', async () => {
    for (const kind of TRANSPORTS) {
      const topic = unique('/topic/c49-');
      const c = await connectRaw(broker, kind);
      try {
        await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: topic });
        const body = 'z'.repeat(1000);
        // 300 SENDs to itself, then DISCONNECT: one TCP write; one WebSocket message per frame (a
        // WebSocket message may hold at most 2 x maxFrameBytes).
        const frames = [...Array.from({ length: 300 }, () => frame('SEND', { destination: topic }, body)), frame('DISCONNECT', { receipt: 'last' })];
        if (kind === 'tcp') c.send(Buffer.concat(frames));
        else for (const f of frames) c.send(f);
        await c.waitClosed();
        const after = c.frames.slice(2).map((f) => f.command);
        assert.equal(after.length, 301, `${kind}: got ${after.length} frames`);
        assert.deepEqual(after.slice(0, 300), Array(300).fill('MESSAGE'));
        assert.equal(after[300], 'RECEIPT');
        assert.equal(header(c.frames.at(-1)!, 'receipt-id'), 'last');
      } finally {
        c.close();
      }
    }
  });

  test('#49 stompjs deactivate() disconnects cleanly', async () => {
    const js = await connectStompjs(broker.wsUrl);
    const errors: string[] = [];
    js.onStompError = (f) => errors.push(f.headers['message'] ?? '');
    await js.deactivate();
    assert.equal(js.connected, false);
    assert.deepEqual(errors, []);
  });

  test('#49 frames pipelined before DISCONNECT are processed', async () => {
    const q = unique('/queue/c49-pipe-');
    const c = await connectRaw(broker, 'tcp');
    c.send(Buffer.concat([...['p1', 'p2', 'p3'].map((b) => frame('SEND', { destination: q }, b)), frame('DISCONNECT', { receipt: 'x' })]));
    await c.waitForCommand('RECEIPT');
    await c.waitClosed();
    const sub = await connectRaw(broker, 'tcp');
    try {
      await sub.sendWithReceipt('SUBSCRIBE', { id: 's', destination: q });
      assert.deepEqual(bodies(await barrier(sub, sub, q)), ['p1', 'p2', 'p3']);
    } finally {
      sub.close();
    }
  });
});
