// STOMP 1.2 server checklist, section 2.1 "Framing and encoding", rules #10-#17: bodies,
// content-length, content-type, UTF-8, receipts and repeated headers. Black-box, against a real
// broker over TCP and WebSocket, with raw clients and @stomp/stompjs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { messages, messageTagged, unique } from './helpers/conformance-kit.js';
import { refused } from './helpers/expect.js';
import { bodyText, delay, frame, header, headerAll, TRANSPORTS, type RawFrame } from './helpers/raw-client.js';
import { Inbox, subscribed } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';

/** 0..255 twice, with NULs at both ends: not valid UTF-8, not NUL-terminable. */
const BINARY = Uint8Array.from([0, ...Array.from({ length: 512 }, (_, i) => i % 256), 0]);

describe('conformance: bodies, receipts and repeated headers (#10-#17)', () => {
  const { broker, connectRaw, subscriber, stompjs } = useBroker();

  for (const t of TRANSPORTS) {
    test(`#10 CONNECTED and RECEIPT frames never carry a body (${t})`, async () => {
      const c = await connectRaw(t);
      const connected = c.frames[0]!;
      const receipts: RawFrame[] = [
        await c.sendWithReceipt('SUBSCRIBE', { id: '1', destination: unique('/topic/b10-') }),
        await c.sendWithReceipt('SEND', { destination: unique('/queue/b10-') }, 'a body on SEND is fine'),
        await c.sendWithReceipt('UNSUBSCRIBE', { id: '1' }),
        await c.sendWithReceipt('DISCONNECT', {}),
      ];
      for (const f of [connected, ...receipts]) {
        assert.equal(f.body.length, 0, `${f.command} has no body`);
        assert.ok(['0', undefined].includes(header(f, 'content-length')), `${f.command} content-length`);
      }
      await c.waitClosed();
    });

    test(`#10 a client frame other than SEND with a body gets ERROR "unexpected body" (${t})`, async () => {
      const dest = '/topic/b10';
      const cases: [string, Record<string, string>][] = [
        ['SUBSCRIBE', { id: '1', destination: dest }],
        ['UNSUBSCRIBE', { id: '1' }],
        ['ACK', { id: '1.1' }],
        ['NACK', { id: '1.1' }],
        ['BEGIN', { transaction: 't' }],
        ['DISCONNECT', {}],
      ];
      for (const [command, headers] of cases) {
        const e = await refused(broker(), frame(command, headers, 'body'), 'unexpected body', { kind: t });
        assert.match(bodyText(e), new RegExp(command));
      }
      await refused(broker(), frame('CONNECT', { 'accept-version': '1.2', host: '/' }, 'body'), 'unexpected body', { kind: t, connect: false });
      // A binary body announced by content-length is a body too.
      await refused(broker(), frame('BEGIN', { transaction: 't', 'content-length': '1' }, new Uint8Array([0])), 'unexpected body', { kind: t });
    });

    test(`#10 an empty body (content-length:0) on a non-SEND frame is no body (${t})`, async () => {
      const c = await connectRaw(t);
      await c.sendWithReceipt('SUBSCRIBE', { id: '1', destination: unique('/topic/b10-'), 'content-length': '0' });
      await c.sendWithReceipt('UNSUBSCRIBE', { id: '1', 'content-length': '0' });
      assert.deepEqual(c.frames.map((f) => f.command), ['CONNECTED', 'RECEIPT', 'RECEIPT']);
    });

    test(`#11 a binary body with NULs and content-length arrives intact, also in pieces (${t})`, async () => {
      const dest = unique('/topic/bin-');
      const sub = await subscriber(t, dest);
      const pub = await connectRaw(t);
      const whole = frame('SEND', { destination: dest, 'x-tag': 'whole', 'content-length': String(BINARY.length) }, BINARY);
      pub.send(whole);
      const m = await messageTagged(sub, 'whole');
      assert.equal(header(m, 'content-length'), String(BINARY.length));
      assert.deepEqual(Buffer.from(m.body), Buffer.from(BINARY));
      // Text WebSocket messages only for valid UTF-8: this body goes out binary.
      if (t === 'ws') assert.equal(sub.messageKinds.at(-1), 'binary');
      // The same frame split inside the headers and twice inside the body.
      const split = frame('SEND', { destination: dest, 'x-tag': 'split', 'content-length': String(BINARY.length) }, BINARY);
      const head = split.length - BINARY.length - 1;
      for (const [from, to] of [[0, 10], [10, head + 1], [head + 1, head + 300], [head + 300, split.length]] as const) {
        pub.send(split.subarray(from, to));
        await delay(20);
      }
      const m2 = await messageTagged(sub, 'split');
      assert.deepEqual(Buffer.from(m2.body), Buffer.from(BINARY));
    });

    test(`#11 a wrong content-length followed by a non-NUL byte is a malformed frame (${t})`, async () => {
      const dest = unique('/topic/badlen-');
      const sub = await subscriber(t, dest);
      await refused(broker(), frame('SEND', { destination: dest, 'x-tag': 'bad', 'content-length': '3' }, 'hello'), 'malformed frame', { kind: t });
      await refused(broker(), frame('SEND', { destination: dest, 'x-tag': 'bad', 'content-length': 'abc' }, 'hello'), 'invalid content-length', { kind: t });
      // Neither frame was delivered: the next message on the destination is the first one.
      const pub = await connectRaw(t);
      pub.send(frame('SEND', { destination: dest, 'x-tag': 'good' }, 'good'));
      await messageTagged(sub, 'good');
      assert.deepEqual(messages(sub).map((f) => header(f, 'x-tag')), ['good']);
    });

    test(`#12 a MESSAGE whose body holds NULs carries content-length (stompjs publisher, ${t} subscriber)`, async () => {
      const dest = unique('/topic/nul12-');
      const raw = await subscriber(t, dest);
      const js = await stompjs();
      const inbox = new Inbox();
      await subscribed(js, dest, inbox.push);
      js.publish({ destination: dest, binaryBody: BINARY, headers: { 'x-tag': 'nul' } });
      const m = await messageTagged(raw, 'nul');
      assert.equal(header(m, 'content-length'), String(BINARY.length));
      assert.deepEqual(Buffer.from(m.body), Buffer.from(BINARY));
      const [got] = await inbox.until(1);
      assert.deepEqual(Buffer.from(got!.binaryBody), Buffer.from(BINARY));
    });

    test(`#13 every MESSAGE carries content-length: without one on the SEND, empty, or given (${t})`, async () => {
      const dest = unique('/topic/cl-');
      const sub = await subscriber(t, dest);
      const pub = await connectRaw(t);
      pub.send(frame('SEND', { destination: dest, 'x-tag': 'text' }, 'héllo'));
      pub.send(frame('SEND', { destination: dest, 'x-tag': 'empty' }));
      pub.send(frame('SEND', { destination: dest, 'x-tag': 'given', 'content-length': '3' }, 'abc'));
      const text = await messageTagged(sub, 'text');
      assert.deepEqual(headerAll(text, 'content-length'), [String(Buffer.byteLength('héllo'))]);
      assert.equal(bodyText(text), 'héllo');
      assert.deepEqual(headerAll(await messageTagged(sub, 'empty'), 'content-length'), ['0']);
      assert.deepEqual(headerAll(await messageTagged(sub, 'given'), 'content-length'), ['3']);
    });

    test(`#13 every ERROR carries content-length counting body bytes, not characters (${t})`, async () => {
      // The detail quotes the command, so the body has multi-byte characters.
      const e = await refused(broker(), frame('FÖÖ→'), 'unknown command', { kind: t });
      assert.equal(header(e, 'content-length'), String(e.body.length));
      assert.ok(bodyText(e).includes('"FÖÖ→"'), bodyText(e));
      const v = await refused(broker(), frame('CONNECT', { 'accept-version': '1.2', host: 'nö-such-höst' }), 'unknown virtual host', { kind: t, connect: false });
      assert.ok(bodyText(v).includes('nö-such-höst'), bodyText(v));
    });

    test(`#14 the SEND content-type is copied to the MESSAGE, and none is invented (${t})`, async () => {
      const dest = unique('/topic/ct-');
      const sub = await subscriber(t, dest);
      const js = await stompjs();
      const inbox = new Inbox();
      await subscribed(js, dest, inbox.push);
      const pub = await connectRaw(t);
      pub.send(frame('SEND', { destination: dest, 'x-tag': 'json', 'content-type': 'application/json;charset=utf-8' }, '{"a":1}'));
      pub.send(frame('SEND', { destination: dest, 'x-tag': 'octets', 'content-type': 'application/octet-stream' }, 'x'));
      pub.send(frame('SEND', { destination: dest, 'x-tag': 'none' }, 'x'));
      assert.deepEqual(headerAll(await messageTagged(sub, 'json'), 'content-type'), ['application/json;charset=utf-8']);
      assert.deepEqual(headerAll(await messageTagged(sub, 'octets'), 'content-type'), ['application/octet-stream']);
      assert.deepEqual(headerAll(await messageTagged(sub, 'none'), 'content-type'), []);
      const got = await inbox.until(3);
      assert.deepEqual(got.map((m) => m.headers['content-type']), ['application/json;charset=utf-8', 'application/octet-stream', undefined]);
    });

    test(`#14 ERROR frames use content-type text/plain (${t})`, async () => {
      for (const [bytes, message, connect] of [
        [frame('SEND', {}, 'x'), 'missing header', {}],
        [frame('NOPE'), 'unknown command', {}],
        [frame('SEND', { destination: '/topic/x' }), 'not connected', false],
      ] as const) {
        const e = await refused(broker(), bytes, message, { kind: t, connect });
        assert.equal(header(e, 'content-type'), 'text/plain;charset=utf-8');
      }
    });

    test(`#15 UTF-8 destinations, headers and bodies round-trip between raw ${t} and stompjs clients`, async () => {
      const dest = unique('/topic/ünïcödé-日本-');
      const text = 'Grüße, 世界! 🎉 – ∑';
      const js = await stompjs();
      const inbox = new Inbox();
      await subscribed(js, dest, inbox.push);
      const raw = await subscriber(t, dest);
      const pub = await connectRaw(t);
      pub.send(frame('SEND', { destination: dest, 'x-tag': 'raw', 'x-grüß': text }, text));
      const [fromRaw] = await inbox.until(1);
      assert.equal(fromRaw!.body, text);
      assert.equal(fromRaw!.headers['x-grüß'], text);
      assert.equal(fromRaw!.headers['destination'], dest);
      const m = await messageTagged(raw, 'raw');
      assert.equal(bodyText(m), text);
      // Valid UTF-8 bodies travel as WebSocket text messages.
      if (t === 'ws') assert.equal(raw.messageKinds.at(-1), 'text');
      js.publish({ destination: dest, body: text, headers: { 'x-tag': 'js', 'x-grüß': text } });
      const m2 = await messageTagged(raw, 'js');
      assert.deepEqual(Buffer.from(m2.body), Buffer.from(text, 'utf8'));
      assert.equal(header(m2, 'x-grüß'), text);
    });

    test(`#16 SEND, SUBSCRIBE, UNSUBSCRIBE, ACK, NACK, BEGIN, COMMIT, ABORT and DISCONNECT all get RECEIPTs (${t})`, async () => {
      const q = unique('/queue/rcpt-');
      const c = await connectRaw(t);
      c.send(frame('SUBSCRIBE', { id: 'q', destination: q, ack: 'client-individual', receipt: 'r-subscribe' }));
      for (let i = 1; i <= 3; i++) c.send(frame('SEND', { destination: q, receipt: `r-send-${i}`, 'x-tag': `m${i}` }, `m${i}`));
      const acks: string[] = [];
      for (let i = 1; i <= 3; i++) acks.push(header(await messageTagged(c, `m${i}`), 'ack')!);
      // The rest in one write; receipts come back in frame order, the last one before the close.
      const rest: [string, Record<string, string>][] = [
        ['ACK', { id: acks[0]! }],
        ['NACK', { id: acks[1]!, requeue: 'false' }],
        ['BEGIN', { transaction: 'tx1' }],
        ['ACK', { id: acks[2]!, transaction: 'tx1' }],
        ['COMMIT', { transaction: 'tx1' }],
        ['BEGIN', { transaction: 'tx2' }],
        ['SEND', { destination: q, transaction: 'tx2' }],
        ['ABORT', { transaction: 'tx2' }],
        ['UNSUBSCRIBE', { id: 'q' }],
        ['DISCONNECT', {}],
      ];
      c.send(Buffer.concat(rest.map(([command, h], i) => frame(command, { ...h, receipt: `r-${i}-${command}` }))));
      await c.waitClosed();
      const receipts = c.frames.filter((f) => f.command === 'RECEIPT').map((f) => header(f, 'receipt-id'));
      assert.deepEqual(receipts, [
        'r-subscribe', 'r-send-1', 'r-send-2', 'r-send-3',
        ...rest.map(([command], i) => `r-${i}-${command}`),
      ]);
      assert.equal(c.frames.at(-1)!.command, 'RECEIPT');
      assert.equal(c.frames.filter((f) => f.command === 'ERROR').length, 0);
    });

    test(`#17 repeated headers: the first destination routes, repeats of a user header keep their order (${t})`, async () => {
      const first = unique('/topic/first-');
      const second = unique('/topic/second-');
      const subFirst = await subscriber(t, first);
      const subSecond = await subscriber(t, second);
      const js = await stompjs();
      const inbox = new Inbox();
      await subscribed(js, first, inbox.push);
      const pub = await connectRaw(t);
      pub.send(frame('SEND', [['destination', first], ['destination', second], ['x-tag', 'dup'], ['x', '1'], ['x', '2'], ['x', '3']], 'dup'));
      pub.send(frame('SEND', { destination: second, 'x-tag': 'marker' }, 'marker'));
      const m = await messageTagged(subFirst, 'dup');
      assert.deepEqual(headerAll(m, 'destination'), [first]);
      assert.deepEqual(headerAll(m, 'x'), ['1', '2', '3']);
      const [js1] = await inbox.until(1);
      assert.equal(js1!.headers['x'], '1');
      // Publish order holds per destination: had "dup" gone to the second destination, it would come first.
      await messageTagged(subSecond, 'marker');
      assert.deepEqual(messages(subSecond).map((f) => header(f, 'x-tag')), ['marker']);
      // A repeated receipt: the first value is the one answered.
      const c = await connectRaw(t);
      c.send(frame('SUBSCRIBE', [['id', 'r'], ['destination', second], ['receipt', 'r-first'], ['receipt', 'r-second']]));
      const last = await c.sendWithReceipt('UNSUBSCRIBE', { id: 'r' });
      const receipts = c.frames.filter((f) => f.command === 'RECEIPT').map((f) => header(f, 'receipt-id'));
      assert.deepEqual(receipts, ['r-first', header(last, 'receipt-id')]);
    });
  }
});
