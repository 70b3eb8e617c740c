// Robustness: every configured limit, set small, is accepted at its value and refused one past it
// with ERROR (message describing the violation, body naming the setting) and a close, while a
// well-behaved pair of clients on the same node keeps exchanging messages unaffected.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { messages, unique } from './helpers/conformance-kit.js';
import { eventually, expectErrorThenClose } from './helpers/expect.js';
import { metric } from './helpers/metrics.js';
import { bodyText, frame, header, TRANSPORTS, type RawClient } from './helpers/raw-client.js';
import { sendOfSize, useHealthyPair } from './helpers/robustness.js';
import { useBroker } from './helpers/suite.js';

const MAX_FRAME_BYTES = 1024;
const MAX_HEADERS = 6;
const MAX_HEADER_LINE_BYTES = 128;
const MAX_SUBSCRIPTIONS = 3;
const MAX_TRANSACTIONS = 2;
const MAX_TRANSACTION_FRAMES = 3;

/** Checks the ERROR that ends a limit violation: `message`, the setting named in the body, then close. */
async function expectLimitError(c: RawClient, message: string, setting: string): Promise<void> {
  const e = await expectErrorThenClose(c, message, 15_000);
  assert.ok(bodyText(e).includes(setting), `ERROR body names ${setting}: ${bodyText(e)}`);
}

/** A header line (name:value) of exactly `bytes` bytes. */
function headerOfLength(bytes: number): [string, string] {
  return ['x-long', 'v'.repeat(bytes - 'x-long:'.length)];
}

describe('per-connection limits', () => {
  const suite = useBroker({
    env: {
      STOMPEDE_MAX_FRAME_BYTES: String(MAX_FRAME_BYTES),
      STOMPEDE_MAX_HEADERS: String(MAX_HEADERS),
      STOMPEDE_MAX_HEADER_LINE_BYTES: String(MAX_HEADER_LINE_BYTES),
      STOMPEDE_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS),
      STOMPEDE_MAX_TRANSACTIONS: String(MAX_TRANSACTIONS),
      STOMPEDE_MAX_TRANSACTION_FRAMES: String(MAX_TRANSACTION_FRAMES),
    },
  });
  const { connectRaw } = suite;
  const pair = useHealthyPair(suite, '/topic/limits-healthy');
  /** `c` sends `bytes` while the healthy pair exchanges messages: `c` gets the limit's ERROR, the pair notices nothing. */
  const violate = (c: RawClient, bytes: Buffer, message: string, setting: string): Promise<unknown> =>
    Promise.all([pair().exchange(10), (async () => {
      c.send(bytes);
      await expectLimitError(c, message, setting);
    })()]);

  for (const kind of TRANSPORTS) {
    for (const length of ['none', 'last'] as const) {
      const how = length === 'last' ? 'with content-length' : 'without content-length';
      test(`maxFrameBytes over ${kind} (${how}): exactly at the limit is delivered, one byte more is refused`, async () => {
        const dest = unique('/topic/limits-frame-');
        const sub = await connectRaw(kind);
        await sub.sendWithReceipt('SUBSCRIBE', { id: 's', destination: dest });
        const c = await connectRaw(kind);
        const atLimit = sendOfSize(MAX_FRAME_BYTES, [['destination', dest], ['receipt', 'at-limit']], length);
        assert.equal(atLimit.length, MAX_FRAME_BYTES);
        c.send(atLimit);
        const r = await c.waitForCommand('RECEIPT', 15_000);
        assert.equal(header(r, 'receipt-id'), 'at-limit');
        const m = await sub.waitForCommand('MESSAGE', 15_000);
        const sentBody = atLimit.subarray(atLimit.indexOf('\n\n') + 2, atLimit.length - 1);
        assert.ok(Buffer.from(m.body).equals(sentBody), 'the at-limit body arrived intact');

        const over = sendOfSize(MAX_FRAME_BYTES + 1, [['destination', dest]], length);
        await violate(c, over, 'frame too large', 'maxFrameBytes');
        assert.equal(messages(sub).length, 1, 'the oversized frame was not delivered');
        assert.equal(sub.closed, false);
        await pair().exchange(5);
      });
    }

    test(`maxFrameBytes over ${kind}: a huge content-length is refused before any body arrives`, async () => {
      const c = await connectRaw(kind);
      // Headers only: the broker must not wait for (or allocate) the announced gigabyte.
      c.send(Buffer.from('SEND\ndestination:/topic/limits-huge\ncontent-length:1073741824\n\n'));
      await Promise.all([pair().exchange(5), expectLimitError(c, 'frame too large', 'maxFrameBytes')]);
    });

    test(`maxFrameBytes over ${kind}: a body streamed in small pieces past the limit is refused`, async () => {
      const c = await connectRaw(kind);
      c.send(Buffer.from('SEND\ndestination:/topic/limits-stream\n\n'));
      for (let i = 0; i < 12 && !c.closed; i++) c.send(Buffer.alloc(100, 'z'));
      await Promise.all([pair().exchange(5), expectLimitError(c, 'frame too large', 'maxFrameBytes')]);
    });

    test(`maxHeaders over ${kind}: ${MAX_HEADERS} headers are accepted, ${MAX_HEADERS + 1} refused`, async () => {
      const dest = unique('/topic/limits-headers-');
      const sub = await connectRaw(kind);
      await sub.sendWithReceipt('SUBSCRIBE', { id: 's', destination: dest });
      const c = await connectRaw(kind);
      const user = Array.from({ length: MAX_HEADERS - 2 }, (_, i): [string, string] => [`x-h${i}`, String(i)]);
      c.send(frame('SEND', [['destination', dest], ['receipt', 'six'], ...user], 'six headers'));
      await c.waitForCommand('RECEIPT', 15_000);
      const m = await sub.waitForCommand('MESSAGE', 15_000);
      for (const [k, v] of user) assert.equal(header(m, k), v);

      const tooMany: [string, string][] = [['destination', dest], ...user, ['x-one-more', '1'], ['x-and-another', '2']];
      assert.equal(tooMany.length, MAX_HEADERS + 1);
      await violate(c, frame('SEND', tooMany, 'seven headers'), 'too many headers', 'maxHeaders');
      assert.equal(messages(sub).length, 1);
    });

    test(`maxHeaderLineBytes over ${kind}: a ${MAX_HEADER_LINE_BYTES}-byte line is accepted (LF and CRLF), one more byte refused`, async () => {
      const dest = unique('/topic/limits-line-');
      const c = await connectRaw(kind);
      const [name, value] = headerOfLength(MAX_HEADER_LINE_BYTES);
      assert.equal(`${name}:${value}`.length, MAX_HEADER_LINE_BYTES);
      await c.sendWithReceipt('SEND', { destination: dest, [name]: value }, 'lf');
      c.send(Buffer.from(`SEND\r\ndestination:${dest}\r\n${name}:${value}\r\nreceipt:crlf\r\n\r\nx\0`));
      await c.waitFor((f) => f.command === 'RECEIPT' && header(f, 'receipt-id') === 'crlf', 15_000);

      const [n2, v2] = headerOfLength(MAX_HEADER_LINE_BYTES + 1);
      await violate(c, frame('SEND', [['destination', dest], [n2, v2]], 'too long'), 'header line too long', 'maxHeaderLineBytes');
    });

    test(`maxHeaderLineBytes over ${kind}: a line that never ends is refused once it passes the limit`, async () => {
      const c = await connectRaw(kind);
      c.send(Buffer.from(`SEND\ndestination:/topic/limits-endless\nx-endless:${'e'.repeat(MAX_HEADER_LINE_BYTES * 2)}`));
      await Promise.all([pair().exchange(5), expectLimitError(c, 'header line too long', 'maxHeaderLineBytes')]);
    });
  }

  test('a WebSocket message over twice maxFrameBytes is cut by the WebSocket layer without hurting others', async () => {
    // uWS's maxPayloadLength is 2 x maxFrameBytes: up to that the STOMP parser answers with ERROR;
    // beyond it uWS closes the socket (1009) before any STOMP parsing, so no ERROR can be sent.
    const atPayloadLimit = await connectRaw('ws');
    atPayloadLimit.send(sendOfSize(MAX_FRAME_BYTES * 2, [['destination', '/topic/limits-ws-payload']], 'last'));
    await Promise.all([pair().exchange(5), expectLimitError(atPayloadLimit, 'frame too large', 'maxFrameBytes')]);
    const over = await connectRaw('ws');
    over.send(sendOfSize(MAX_FRAME_BYTES * 2 + 1, [['destination', '/topic/limits-ws-payload']], 'last'));
    await Promise.all([pair().exchange(5), over.waitClosed(15_000)]);
    assert.deepEqual(over.frames.map((f) => f.command), ['CONNECTED']);
    await pair().exchange(5);
  });

  test(`maxSubscriptions: ${MAX_SUBSCRIPTIONS} subscriptions are live, one more is refused`, async () => {
    const dest = unique('/topic/limits-subs-');
    const c = await connectRaw('tcp');
    for (let i = 0; i < MAX_SUBSCRIPTIONS; i++) await c.sendWithReceipt('SUBSCRIBE', { id: `s${i}`, destination: dest });
    const pub = await connectRaw('ws');
    await pub.sendWithReceipt('SEND', { destination: dest }, 'to every subscription');
    const seen = new Set<string>();
    for (let i = 0; i < MAX_SUBSCRIPTIONS; i++) {
      seen.add(header(await c.waitFor((f) => f.command === 'MESSAGE' && !seen.has(header(f, 'subscription')!), 15_000), 'subscription')!);
    }
    assert.equal(seen.size, MAX_SUBSCRIPTIONS);
    await violate(c, frame('SUBSCRIBE', { id: 'one-too-many', destination: dest, receipt: 'r-over' }), 'too many subscriptions', 'maxSubscriptions');
    assert.equal(header(c.frames.at(-1)!, 'receipt-id'), 'r-over');
  });

  test(`maxTransactions: ${MAX_TRANSACTIONS} open transactions are allowed, one more is refused`, async () => {
    const dest = unique('/queue/limits-tx-');
    const c = await connectRaw('tcp');
    await c.sendWithReceipt('BEGIN', { transaction: 't1' });
    await c.sendWithReceipt('BEGIN', { transaction: 't2' });
    await c.sendWithReceipt('SEND', { destination: dest, transaction: 't1' }, 'from t1');
    await c.sendWithReceipt('COMMIT', { transaction: 't1' });
    // Committing freed a slot: t2 and t3 are open, which is the limit again.
    await c.sendWithReceipt('BEGIN', { transaction: 't3' });
    await violate(c, frame('BEGIN', { transaction: 't4' }), 'too many transactions', 'maxTransactions');
    const consumer = await connectRaw('ws');
    consumer.send(frame('SUBSCRIBE', { id: 'q', destination: dest }));
    assert.equal(bodyText(await consumer.waitForCommand('MESSAGE', 15_000)), 'from t1');
  });

  test(`maxTransactionFrames: ${MAX_TRANSACTION_FRAMES} frames commit, one more is refused and nothing of it is applied`, async () => {
    const dest = unique('/topic/limits-txframes-');
    const sub = await connectRaw('ws');
    await sub.sendWithReceipt('SUBSCRIBE', { id: 's', destination: dest });
    const c = await connectRaw('tcp');
    await c.sendWithReceipt('BEGIN', { transaction: 'full' });
    for (let i = 0; i < MAX_TRANSACTION_FRAMES; i++) await c.sendWithReceipt('SEND', { destination: dest, transaction: 'full' }, `full-${i}`);
    await c.sendWithReceipt('COMMIT', { transaction: 'full' });
    await c.sendWithReceipt('BEGIN', { transaction: 'over' });
    for (let i = 0; i < MAX_TRANSACTION_FRAMES; i++) await c.sendWithReceipt('SEND', { destination: dest, transaction: 'over' }, `over-${i}`);
    await violate(c, frame('SEND', { destination: dest, transaction: 'over' }, 'over-last'), 'transaction too large', 'maxTransactionFrames');
    const marker = await connectRaw('tcp');
    await marker.sendWithReceipt('SEND', { destination: dest }, 'marker');
    await sub.waitFor((f) => f.command === 'MESSAGE' && bodyText(f) === 'marker', 15_000);
    const bodies = messages(sub).map(bodyText);
    assert.deepEqual(bodies, ['full-0', 'full-1', 'full-2', 'marker']);
  });
});

describe('maxConnections', () => {
  const MAX_CONNECTIONS = 4;
  const suite = useBroker({ env: { STOMPEDE_MAX_CONNECTIONS: String(MAX_CONNECTIONS) } });
  const { broker, connectRaw, openRaw } = suite;
  const pair = useHealthyPair(suite, '/topic/limits-conn-healthy');

  test('connections up to the limit work; one more gets ERROR and is closed, over TCP and WebSocket', async () => {
    // The pair holds two connections; two more reach the limit exactly.
    const third = await connectRaw('tcp');
    const fourth = await connectRaw('ws');
    await third.sendWithReceipt('SUBSCRIBE', { id: 's', destination: '/topic/limits-conn' });
    await fourth.sendWithReceipt('SEND', { destination: '/topic/limits-conn' }, 'at the limit');
    assert.equal(bodyText(await third.waitForCommand('MESSAGE', 15_000)), 'at the limit');
    for (const kind of TRANSPORTS) {
      const refused = await openRaw(kind);
      await Promise.all([pair().exchange(5), expectLimitError(refused, 'too many connections', 'maxConnections')]);
    }
    // A slot freed by a leaving client can be taken again.
    third.close();
    await eventually(async () => (await metric(broker(), 'stompede_connections')) < MAX_CONNECTIONS, () => 'the closed connection was never released', 15_000);
    const again = await connectRaw('tcp');
    await again.sendWithReceipt('SEND', { destination: '/topic/limits-conn' }, 'after a slot freed');
    await pair().exchange(5);
    again.close();
    fourth.close();
  });
});

describe('connectTimeoutMs', () => {
  const CONNECT_TIMEOUT_MS = 800;
  const suite = useBroker({ env: { STOMPEDE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS) } });
  const { connectRaw, openRaw } = suite;
  const pair = useHealthyPair(suite, '/queue/limits-timeout-healthy');

  for (const kind of TRANSPORTS) {
    test(`a silent ${kind} connection gets ERROR connect timeout and is closed`, async () => {
      const c = await openRaw(kind);
      await Promise.all([pair().exchange(5), expectLimitError(c, 'connect timeout', 'connectTimeoutMs')]);
      await pair().exchange(5);
    });

    test(`a ${kind} connection that trickles an unfinished CONNECT still times out`, async () => {
      const c = await openRaw(kind);
      c.send(Buffer.from('CONNECT\naccept-version:1.2\n'));
      await Promise.all([pair().exchange(5), expectLimitError(c, 'connect timeout', 'connectTimeoutMs')]);
    });

    test(`a ${kind} client that sent CONNECT in time stays connected past the timeout`, async () => {
      const c = await connectRaw(kind);
      await new Promise((r) => setTimeout(r, CONNECT_TIMEOUT_MS * 3));
      const r = await c.sendWithReceipt('SEND', { destination: '/topic/limits-timeout' }, 'still here', 15_000);
      assert.equal(r.command, 'RECEIPT');
      assert.equal(c.closed, false);
    });
  }
});
