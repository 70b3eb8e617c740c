// STOMP 1.2 server checklist, section 2.5 server frames: ERROR (rules #52-#54): ERROR-then-close on
// every error path, the message header with details in the body, receipt-id of the failing frame.
// MESSAGE is in conformance-server-messages.test.ts, RECEIPT in conformance-server-receipts.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BrokerHandle } from './helpers/broker-process.js';
import { bodies, drain, messages, sendAll, unique, waitMessages } from './helpers/conformance-kit.js';
import { expectErrorThenClose, refused, type Refusal } from './helpers/expect.js';
import { bodyText, frame, header, headerAll, TRANSPORTS, unescape12, type RawClient } from './helpers/raw-client.js';
import { useBroker } from './helpers/suite.js';

const LIMITS = {
  STOMPEDE_MAX_FRAME_BYTES: '4096',
  STOMPEDE_MAX_HEADER_LINE_BYTES: '512',
  STOMPEDE_MAX_HEADERS: '12',
  STOMPEDE_MAX_QUEUE_BYTES: '1024',
  STOMPEDE_MAX_SUBSCRIPTIONS: '8',
  STOMPEDE_MAX_TRANSACTIONS: '2',
  STOMPEDE_MAX_TRANSACTION_FRAMES: '2',
};

/** One way to make the broker send ERROR: `bytes` on a fresh connection, after `connect` and `setup` (see refused()). */
interface ErrorCase extends Omit<Refusal, 'kind'> {
  readonly name: string;
  readonly bytes: Buffer | ((c: RawClient) => Buffer);
  readonly message: string;
}

/** Runs every case over each transport (the cases of one transport at once), naming the failing one. */
async function runErrorCases(broker: BrokerHandle, rows: readonly ErrorCase[]): Promise<void> {
  for (const kind of TRANSPORTS) {
    await Promise.all(
      rows.map(async ({ name, bytes, message, ...options }) => {
        try {
          await refused(broker, bytes, message, { ...options, kind });
        } catch (err) {
          throw new Error(`${name} over ${kind}: ${(err as Error).message}`);
        }
      }),
    );
  }
}

const subscribe = (id: string, destination: string, extra: Record<string, string> = {}) => async (c: RawClient) => {
  await c.sendWithReceipt('SUBSCRIBE', { id, destination, ...extra });
};

/** Setup: a client-ack subscription to a fresh queue holding one delivered message. */
const oneUnacked = async (c: RawClient) => {
  const q = unique('/queue/s-unacked-');
  await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: q, ack: 'client' });
  await sendAll(c, q, ['m']);
  await waitMessages(c, 1, 'c');
};
const ackOfFirst = (c: RawClient) => header(messages(c, 'c')[0]!, 'ack')!;
/** The queue a "queue full" case filled, per client. */
const fullQueue = new WeakMap<RawClient, string>();

describe('server frames: ERROR (#52-#54)', () => {
  const { broker, connectRaw } = useBroker({ env: LIMITS });

  // ---------------------------------------------------------------- #52 ERROR then close

  test('#52 errors before and during CONNECT: ERROR, then close', async () => {
    await runErrorCases(broker(), [
      { name: 'SEND before CONNECT', connect: false, bytes: frame('SEND', { destination: '/queue/x' }, 'x'), message: 'not connected' },
      { name: 'SUBSCRIBE before CONNECT', connect: false, bytes: frame('SUBSCRIBE', { id: '0', destination: '/topic/x' }), message: 'not connected' },
      { name: 'garbage first', connect: false, bytes: Buffer.from('HELLO\n\n\0'), message: 'not connected' },
      { name: 'no common version', connect: false, bytes: frame('CONNECT', { 'accept-version': '3.0', host: '/' }), message: 'unsupported protocol version' },
      { name: 'unknown vhost', connect: false, bytes: frame('CONNECT', { 'accept-version': '1.2', host: 'elsewhere' }), message: 'unknown virtual host' },
      { name: 'bad heart-beat', connect: false, bytes: frame('STOMP', { 'accept-version': '1.2', 'heart-beat': '1' }), message: 'invalid heart-beat' },
      { name: 'CONNECT with body', connect: false, bytes: frame('CONNECT', { 'accept-version': '1.2' }, 'hi'), message: 'unexpected body' },
      { name: 'second CONNECT', bytes: frame('CONNECT', { 'accept-version': '1.2' }), message: 'already connected' },
      { name: 'STOMP after CONNECT', bytes: frame('STOMP', { 'accept-version': '1.2' }), message: 'already connected' },
    ]);
  });

  test('#52 framing errors: ERROR, then close', async () => {
    await runErrorCases(broker(), [
      { name: 'unknown command', bytes: frame('FOO'), message: 'unknown command' },
      { name: 'header without colon', bytes: Buffer.from('SEND\ndestination:/queue/x\nnocolon\n\nx\0'), message: 'malformed header' },
      { name: 'empty header name', bytes: Buffer.from('SEND\n:value\n\nx\0'), message: 'malformed header' },
      { name: 'undefined escape', bytes: frame('SEND', { destination: '/queue/x', x: 'a\\tb' }), message: 'undefined escape sequence' },
      { name: 'trailing backslash', bytes: frame('SEND', { destination: '/queue/x', x: 'a\\' }), message: 'undefined escape sequence' },
      { name: 'bad content-length', bytes: frame('SEND', { destination: '/queue/x', 'content-length': 'ten' }), message: 'invalid content-length' },
      { name: 'negative content-length', bytes: frame('SEND', { destination: '/queue/x', 'content-length': '-1' }), message: 'invalid content-length' },
      { name: 'no NUL after content-length', bytes: Buffer.from('SEND\ndestination:/queue/x\ncontent-length:2\n\nabcd\0'), message: 'malformed frame' },
      { name: 'body on SUBSCRIBE', bytes: frame('SUBSCRIBE', { id: '0', destination: '/topic/x' }, 'body'), message: 'unexpected body' },
      { name: 'body on DISCONNECT', bytes: frame('DISCONNECT', { receipt: 'r' }, 'body'), message: 'unexpected body', receipt: 'r' },
      { name: 'frame too large', bytes: frame('SEND', { destination: '/queue/x' }, 'x'.repeat(5000)), message: 'frame too large' },
      { name: 'content-length too large', bytes: frame('SEND', { destination: '/queue/x', 'content-length': '100000' }), message: 'frame too large' },
      {
        name: 'too many headers',
        bytes: frame('SEND', Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`h${i}`, 'v']))),
        message: 'too many headers',
      },
      { name: 'header line too long', bytes: frame('SEND', { destination: '/queue/x', long: 'x'.repeat(600) }), message: 'header line too long' },
      { name: 'command line too long', bytes: frame('X'.repeat(600)), message: 'header line too long' },
    ]);
  });

  test('#52 errors in frame handling: ERROR, then close', async () => {
    await runErrorCases(broker(), [
      { name: 'missing header', bytes: frame('SEND', {}, 'x'), message: 'missing header' },
      { name: 'unknown prefix', bytes: frame('SEND', { destination: '/exchange/x' }, 'x'), message: 'unknown destination prefix' },
      { name: 'wildcard SEND', bytes: frame('SEND', { destination: '/topic/a.*' }, 'x'), message: 'invalid destination' },
      { name: 'empty reply-to name', bytes: frame('SEND', { destination: '/topic/x', 'reply-to': '/temp-queue/' }, 'x'), message: 'invalid reply-to' },
      { name: 'duplicate subscription', setup: subscribe('d', '/topic/x'), bytes: frame('SUBSCRIBE', { id: 'd', destination: '/topic/y' }), message: 'duplicate subscription' },
      { name: 'invalid ack mode', bytes: frame('SUBSCRIBE', { id: 'd', destination: '/topic/x', ack: 'nope' }), message: 'invalid ack mode' },
      { name: 'invalid prefetch', bytes: frame('SUBSCRIBE', { id: 'd', destination: '/topic/x', 'prefetch-count': 'x' }), message: 'invalid prefetch-count' },
      {
        name: 'too many subscriptions',
        setup: async (c) => {
          for (let i = 0; i < 8; i++) await c.sendWithReceipt('SUBSCRIBE', { id: `s${i}`, destination: `/topic/s52.${i}` });
        },
        bytes: frame('SUBSCRIBE', { id: 's8', destination: '/topic/s52.8' }),
        message: 'too many subscriptions',
      },
      { name: 'unknown subscription', bytes: frame('UNSUBSCRIBE', { id: 'nope' }), message: 'unknown subscription' },
      { name: 'unknown ack id', setup: oneUnacked, bytes: frame('ACK', { id: 'nope' }), message: 'unknown ack id' },
      { name: 'unknown nack id', setup: oneUnacked, bytes: frame('NACK', { id: 'nope' }), message: 'unknown nack id' },
      { name: 'invalid requeue', setup: oneUnacked, bytes: (c) => frame('NACK', { id: ackOfFirst(c), requeue: 'maybe' }), message: 'invalid requeue' },
      { name: 'unknown transaction', bytes: frame('COMMIT', { transaction: 'nope' }), message: 'unknown transaction' },
      {
        name: 'duplicate transaction',
        setup: async (c) => {
          await c.sendWithReceipt('BEGIN', { transaction: 't' });
        },
        bytes: frame('BEGIN', { transaction: 't' }),
        message: 'duplicate transaction',
      },
      {
        name: 'too many transactions',
        setup: async (c) => {
          for (const t of ['t1', 't2']) await c.sendWithReceipt('BEGIN', { transaction: t });
        },
        bytes: frame('BEGIN', { transaction: 't3' }),
        message: 'too many transactions',
      },
      {
        name: 'transaction too large',
        setup: async (c) => {
          await c.sendWithReceipt('BEGIN', { transaction: 't' });
          for (let i = 0; i < 2; i++) await c.sendWithReceipt('SEND', { destination: '/topic/x', transaction: 't' }, 'x');
        },
        bytes: frame('SEND', { destination: '/topic/x', transaction: 't' }, 'x'),
        message: 'transaction too large',
      },
      {
        name: 'queue full',
        setup: async (c) => {
          fullQueue.set(c, unique('/queue/s52-full-'));
          await sendAll(c, fullQueue.get(c)!, ['x'.repeat(1000)]);
        },
        bytes: (c) => frame('SEND', { destination: fullQueue.get(c)! }, 'y'.repeat(1000)),
        message: 'queue full',
      },
    ]);
  });

  test('#52 nothing is processed after the frame that caused the ERROR', async () => {
    const q = unique('/queue/s52-after-');
    const c = await connectRaw('ws');
    c.send(Buffer.concat([frame('SUBSCRIBE', { id: 'x', destination: '/nowhere' }), frame('SEND', { destination: q }, 'not sent'), frame('DISCONNECT', { receipt: 'r' })]));
    await expectErrorThenClose(c, 'unknown destination prefix');
    assert.deepEqual(bodies(await drain(await connectRaw('tcp'), q)), []);
  });

  // ---------------------------------------------------------------- #53 ERROR message header

  test('#53 ERROR has a short message header and the details in a text/plain body', async () => {
    for (const [bytes, message, detail] of [
      [frame('SEND', { destination: '/app/x' }, 'x'), 'unknown destination prefix', /\/app is Spring's application-destination prefix/],
      [frame('SUBSCRIBE', { destination: '/topic/x' }), 'missing header', /SUBSCRIBE requires the "id" header/],
      [frame('SEND', { destination: '/queue/x' }, 'x'.repeat(5000)), 'frame too large', /at most 4096 bytes \(maxFrameBytes\)/],
    ] as const) {
      const e = await refused(broker(), bytes, message);
      assert.equal(headerAll(e, 'message').length, 1);
      assert.ok(message.length <= 40 && !message.includes('\n'), 'short');
      assert.equal(header(e, 'content-type'), 'text/plain;charset=utf-8');
      assert.match(bodyText(e), detail);
    }
  });

  test('#53 the version ERROR lists the supported versions', async () => {
    const e = await refused(broker(), frame('CONNECT', { 'accept-version': '2.0,3.0', host: '/' }), 'unsupported protocol version', { connect: false });
    assert.equal(header(e, 'version'), '1.0,1.1,1.2');
    assert.match(bodyText(e), /1\.0 1\.1 1\.2/);
  });

  // ---------------------------------------------------------------- #54 receipt-id on ERROR

  test('#54 ERROR for a frame with receipt carries receipt-id', async () => {
    for (const kind of TRANSPORTS) {
      const c = await connectRaw(kind);
      c.send(frame('SEND', { destination: '/app/forbidden', receipt: 'send-77' }, 'x'));
      const e = await expectErrorThenClose(c, 'unknown destination prefix');
      assert.equal(header(e, 'receipt-id'), 'send-77');
      assert.equal(c.frames.filter((f) => f.command === 'RECEIPT').length, 0);
    }
  });

  test('#54 receipt-id is escaped like every header; no receipt, no receipt-id; earlier receipts do not leak', async () => {
    const a = await connectRaw('tcp');
    a.send(frame('SUBSCRIBE', { id: 'x', destination: '/queue/a.*', receipt: 'r\\c1\\n\\\\' }));
    const e = await expectErrorThenClose(a, 'invalid destination');
    assert.equal(header(e, 'receipt-id'), 'r\\c1\\n\\\\');
    assert.equal(unescape12(header(e, 'receipt-id')!), 'r:1\n\\');
    const b = await connectRaw('tcp');
    await b.sendWithReceipt('SUBSCRIBE', { id: 'ok', destination: '/topic/s54' });
    b.send(frame('SUBSCRIBE', { id: 'ok', destination: '/topic/s54' }));
    const dup = await expectErrorThenClose(b, 'duplicate subscription');
    assert.equal(header(dup, 'receipt-id'), undefined);
  });
});

describe('server frames: connect timeout', () => {
  const { openRaw } = useBroker({ env: { STOMPEDE_CONNECT_TIMEOUT_MS: '300' } });

  test('#52 no CONNECT in time: ERROR connect timeout, then close', async () => {
    await Promise.all(
      TRANSPORTS.map(async (kind) => {
        const c = await openRaw(kind);
        const t0 = Date.now();
        const e = await expectErrorThenClose(c, 'connect timeout');
        assert.ok(Date.now() - t0 >= 290, 'not before the timeout');
        assert.match(bodyText(e), /connectTimeoutMs/);
      }),
    );
  });
});

describe('server frames: connection limit', () => {
  const { connectRaw, openRaw } = useBroker({ env: { STOMPEDE_MAX_CONNECTIONS: '1' } });

  test('#52 a connection over maxConnections: ERROR too many connections, then close', async () => {
    const first = await connectRaw('tcp');
    for (const kind of TRANSPORTS) {
      const c = await openRaw(kind);
      const e = await expectErrorThenClose(c, 'too many connections');
      assert.match(bodyText(e), /maxConnections/);
    }
    // The first connection is unaffected.
    await first.sendWithReceipt('SUBSCRIBE', { id: 's', destination: '/topic/s52-limit' });
  });
});
