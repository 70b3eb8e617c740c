// STOMP 1.2 server checklist, section 2.6 implementation-defined points: the older versions and raw
// colons (rules #58, #59), tested against the decisions in scratch/DESIGN-NOTES.md:
// #58 STOMP 1.0 and 1.1 are accepted. 1.1 ACK/NACK name subscription + message-id, 1.0 ACK names
//     message-id (subscription optional); 1.0 SUBSCRIBE id is optional (the destination stands in);
//     1.0 headers are neither unescaped nor escaped (except CR/LF written as \r \n); CRLF is
//     accepted in every version.
// #59 A raw colon in a header value is allowed: the line is split at the first colon.
// Rules #60-#62 are in conformance-impl-delivery.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { barrier, bodies, connectExactly, drain, killAndWait, messages, sendAll, unique, waitMessages } from './helpers/conformance-kit.js';
import { expectErrorThenClose } from './helpers/expect.js';
import { bodyText, frame, frameWithEol, header, unescape12, type RawClient } from './helpers/raw-client.js';
import { useBroker } from './helpers/suite.js';

describe('implementation-defined points: STOMP 1.0 and 1.1, raw colons (#58, #59)', () => {
  const { broker, connectRaw, openRaw } = useBroker();

  /** A TCP client connected with exactly the headers of a `version` client (1.0: no accept-version). */
  async function connectVersion(version: '1.0' | '1.1' | '1.2'): Promise<RawClient> {
    const c = await openRaw('tcp');
    const f = await connectExactly(c, version === '1.0' ? {} : { 'accept-version': version, host: '/' });
    assert.equal(header(f, 'version'), version);
    return c;
  }

  // ---------------------------------------------------------------- #58 STOMP 1.1 and 1.0

  test('#58 STOMP 1.1: ACK and NACK by subscription + message-id', async () => {
    const c = await connectVersion('1.1');
    const q = unique('/queue/i58-11-');
    await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: q, ack: 'client-individual' });
    await sendAll(c, q, ['one', 'two', 'three']);
    const [m1, m2] = await waitMessages(c, 3, 's');
    await c.sendWithReceipt('ACK', { subscription: 's', 'message-id': header(m1!, 'message-id')! });
    await c.sendWithReceipt('NACK', { subscription: 's', 'message-id': header(m2!, 'message-id')! });
    const again = (await waitMessages(c, 4, 's'))[3]!;
    assert.equal(bodyText(again), 'two');
    assert.equal(header(again, 'message-id'), header(m2!, 'message-id'), 'redelivered under the same message-id');
    assert.equal(header(again, 'redelivered'), 'true');
    await c.sendWithReceipt('ACK', { subscription: 's', 'message-id': header(again, 'message-id')! });
    // m1 is settled: acknowledging it again is an error.
    c.send(frame('ACK', { subscription: 's', 'message-id': header(m1!, 'message-id')!, receipt: 'again' }));
    const e = await expectErrorThenClose(c, 'unknown ack id');
    assert.equal(header(e, 'receipt-id'), 'again');
  });

  test('#58 STOMP 1.1: the subscription must be the one the message came on; the 1.2 id header is not enough', async () => {
    for (const [headers, message] of [
      [(mid: string, ack: string) => ({ subscription: 'other', 'message-id': mid, id: ack }), 'unknown ack id'],
      [(_mid: string, ack: string) => ({ id: ack }), 'missing header'],
    ] as const) {
      const c = await connectVersion('1.1');
      const q = unique('/queue/i58-11-wrong-');
      await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: q, ack: 'client' });
      await c.sendWithReceipt('SUBSCRIBE', { id: 'other', destination: unique('/queue/i58-11-other-'), ack: 'client' });
      await sendAll(c, q, ['m']);
      const [m] = await waitMessages(c, 1, 's');
      c.send(frame('ACK', headers(header(m!, 'message-id')!, header(m!, 'ack') ?? '')));
      await expectErrorThenClose(c, message);
    }
  });

  test('#58 STOMP 1.1: client mode ACK by message-id is cumulative', async () => {
    const q = unique('/queue/i58-11-cum-');
    const c = await connectVersion('1.1');
    await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: q, ack: 'client' });
    await sendAll(c, q, ['a', 'b', 'c', 'd']);
    const got = await waitMessages(c, 4, 's');
    await c.sendWithReceipt('ACK', { subscription: 's', 'message-id': header(got[2]!, 'message-id')! });
    await killAndWait(broker(), c);
    assert.deepEqual(bodies(await drain(await connectRaw('tcp'), q)), ['d']);
  });

  test('#58 STOMP 1.1 escaping: \\c \\n \\\\ are decoded and encoded, \\r is not a 1.1 escape', async () => {
    const topic = unique('/topic/i58-esc-');
    const c11 = await connectVersion('1.1');
    const c12 = await connectVersion('1.2');
    await c11.sendWithReceipt('SUBSCRIBE', { id: 's', destination: topic });
    await c12.sendWithReceipt('SUBSCRIBE', { id: 's', destination: topic });
    await c11.sendWithReceipt('SEND', { destination: topic, x: 'a\\cb\\nc\\\\d' }, 'from 1.1');
    const [m11] = await waitMessages(c11, 1);
    const [m12] = await waitMessages(c12, 1);
    assert.equal(header(m11!, 'x'), 'a\\cb\\nc\\\\d');
    assert.equal(unescape12(header(m12!, 'x')!), 'a:b\nc\\d');
    c11.send(frame('SEND', { destination: topic, x: 'a\\rb' }, 'x'));
    await expectErrorThenClose(c11, 'undefined escape sequence');
  });

  test('#58 CRLF line endings are accepted in STOMP 1.1 sessions too', async () => {
    const c = await openRaw('tcp');
    c.send(frameWithEol('\r\n', 'CONNECT', [['accept-version', '1.1'], ['host', '/']]));
    const f = await c.next();
    assert.equal(header(f, 'version'), '1.1');
    const topic = unique('/topic/i58-crlf-');
    c.send(frameWithEol('\r\n', 'SUBSCRIBE', [['id', 's'], ['destination', topic], ['receipt', 'sub']]));
    await c.waitFor((x) => x.command === 'RECEIPT');
    c.send(frameWithEol('\r\n', 'SEND', [['destination', topic], ['x', 'v']], 'crlf'));
    const [m] = await waitMessages(c, 1, 's');
    assert.equal(header(m!, 'x'), 'v', 'the CR is not part of the value');
    assert.equal(bodyText(m!), 'crlf');
  });

  test('#58 STOMP 1.0: SUBSCRIBE without id is known by its destination; UNSUBSCRIBE by destination', async () => {
    const topic = unique('/topic/i58-10-');
    const other = `${topic}-other`;
    const c = await connectVersion('1.0');
    await c.sendWithReceipt('SUBSCRIBE', { destination: topic });
    await c.sendWithReceipt('SUBSCRIBE', { destination: other });
    await sendAll(c, topic, ['first']);
    const [m] = await waitMessages(c, 1, topic);
    assert.equal(header(m!, 'subscription'), topic, 'subscription = destination');
    await c.sendWithReceipt('UNSUBSCRIBE', { destination: topic });
    await sendAll(c, topic, ['after']);
    // Over one TCP connection, auto-ack topic messages arrive in publish order across destinations.
    await barrier(c, c, other, other);
    assert.deepEqual(bodies(messages(c, topic)), ['first'], 'nothing after UNSUBSCRIBE by destination');
    // The id-less subscription is gone; the destination may be subscribed again.
    await c.sendWithReceipt('SUBSCRIBE', { destination: topic });
  });

  test('#58 STOMP 1.0: ACK by message-id alone (subscription optional)', async () => {
    const q = unique('/queue/i58-10-ack-');
    const c = await connectVersion('1.0');
    await c.sendWithReceipt('SUBSCRIBE', { destination: q, ack: 'client' });
    await sendAll(c, q, ['a', 'b']);
    const [a, b] = await waitMessages(c, 2);
    await c.sendWithReceipt('ACK', { 'message-id': header(a!, 'message-id')! });
    await c.sendWithReceipt('ACK', { 'message-id': header(b!, 'message-id')!, subscription: q });
    c.send(frame('ACK', { 'message-id': header(a!, 'message-id')! }));
    await expectErrorThenClose(c, 'unknown ack id');
  });

  test('#58 STOMP 1.0: header values are taken and given verbatim (no escaping), CR/LF excepted', async () => {
    const topic = unique('/topic/i58-10-raw-');
    const c10 = await connectVersion('1.0');
    const c12 = await connectVersion('1.2');
    await c10.sendWithReceipt('SUBSCRIBE', { destination: topic });
    await c12.sendWithReceipt('SUBSCRIBE', { id: 's', destination: topic });
    // From 1.0: a backslash is just a backslash.
    await c10.sendWithReceipt('SEND', { destination: topic, x: 'a\\cb\\t' }, 'from 1.0');
    // From 1.2: a colon and a line feed.
    await c12.sendWithReceipt('SEND', { destination: topic, x: 'a\\cb\\nc' }, 'from 1.2');
    const [a10, b10] = await waitMessages(c10, 2);
    const [a12, b12] = await waitMessages(c12, 2);
    assert.equal(header(a10!, 'x'), 'a\\cb\\t', '1.0 -> 1.0 verbatim');
    assert.equal(unescape12(header(a12!, 'x')!), 'a\\cb\\t', '1.0 -> 1.2: the backslashes are data');
    assert.equal(header(b10!, 'x'), 'a:b\\nc', '1.2 -> 1.0: colon raw, LF written as \\n');
    assert.equal(unescape12(header(b12!, 'x')!), 'a:b\nc');
  });

  // ---------------------------------------------------------------- #59 raw colons

  test('#59 a raw colon in a header value is accepted: split at the first colon', async () => {
    const base = unique('/queue/i59-');
    const q = `${base}:part`;
    const c = await connectRaw('tcp');
    // Subscribed with the raw colon, sent to with the escaped one: the same destination.
    await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: q });
    c.send(frame('SEND', { destination: q.replace(':', '\\c'), 'x-time': '12:30:45', 'x-url': 'http://h:80/p', receipt: 'r:1' }, 'colons'));
    // The receipt value r:1 comes back escaped.
    await c.waitFor((f) => f.command === 'RECEIPT' && header(f, 'receipt-id') === 'r\\c1');
    const [m] = await waitMessages(c, 1, 's');
    assert.equal(unescape12(header(m!, 'destination')!), q);
    assert.equal(unescape12(header(m!, 'x-time')!), '12:30:45');
    assert.equal(unescape12(header(m!, 'x-url')!), 'http://h:80/p');
    assert.equal(header(m!, 'x-time'), '12\\c30\\c45', 'and is escaped on the way out');
  });

  test('#59 raw colons in CONNECT and in a STOMP 1.0 session', async () => {
    const c = await openRaw('tcp');
    const f = await connectExactly(c, { 'accept-version': '1.0,1.2', host: '/', login: 'user:name', passcode: 'a:b:c' });
    assert.equal(header(f, 'version'), '1.2');
    const c10 = await connectVersion('1.0');
    const topic = unique('/topic/i59-10-');
    await c10.sendWithReceipt('SUBSCRIBE', { destination: topic });
    await c10.sendWithReceipt('SEND', { destination: topic, 'x-time': '12:30' }, 'x');
    const [m] = await waitMessages(c10, 1);
    assert.equal(header(m!, 'x-time'), '12:30');
  });
});
