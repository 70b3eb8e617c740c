// STOMP 1.2 server checklist, section 2.5 server frames: RECEIPT (rule #55) and receipts as
// cumulative acknowledgements (#56).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bodies, drain, sendAll, unique, waitMessages } from './helpers/conformance-kit.js';
import { metric } from './helpers/metrics.js';
import { frame, header, TRANSPORTS } from './helpers/raw-client.js';
import { useBroker } from './helpers/suite.js';

describe('server frames: RECEIPT (#55)', () => {
  const { connectRaw } = useBroker();

  // ---------------------------------------------------------------- #55 RECEIPT

  test('#55 RECEIPT carries receipt-id equal to the receipt header, for every client frame', async () => {
    const ids = ['plain', 'r\\c1', 'ünï', ' spaced ', 'a\\\\b', ''];
    for (const kind of TRANSPORTS) {
      for (const id of ids) {
        const q = unique('/queue/s55-');
        const c = await connectRaw(kind);
        const steps: [string, Record<string, string>][] = [
          ['SUBSCRIBE', { id: 's', destination: q, ack: 'client-individual' }],
          ['SEND', { destination: q }],
          ['SEND', { destination: q }],
          ['BEGIN', { transaction: 't' }],
          ['SEND', { destination: q, transaction: 't' }],
          ['COMMIT', { transaction: 't' }],
          ['BEGIN', { transaction: 'u' }],
          ['ABORT', { transaction: 'u' }],
        ];
        let n = 0;
        const check = async (command: string, headers: Record<string, string>) => {
          const before = c.frames.filter((f) => f.command === 'RECEIPT').length;
          c.send(frame(command, { ...headers, receipt: id }, command === 'SEND' ? `b${n++}` : ''));
          const r = await c.waitFor(() => c.frames.filter((f) => f.command === 'RECEIPT').length > before);
          const receipt = c.frames.filter((f) => f.command === 'RECEIPT')[before]!;
          assert.deepEqual(receipt.headers, [['receipt-id', id]], `${kind} ${command} ${JSON.stringify(id)}`);
          assert.equal(receipt.body.length, 0);
          return r;
        };
        for (const [command, headers] of steps) await check(command, headers);
        const [m1, m2] = await waitMessages(c, 2, 's');
        await check('ACK', { id: header(m1!, 'ack')! });
        await check('NACK', { id: header(m2!, 'ack')!, requeue: 'false' });
        await check('UNSUBSCRIBE', { id: 's' });
        await check('DISCONNECT', {});
        await c.waitClosed();
      }
    }
  });

  test('#55 receipts come back in the order of the frames', async () => {
    const c = await connectRaw('tcp');
    const n = 200;
    c.send(Buffer.concat(Array.from({ length: n }, (_, i) => frame('SEND', { destination: `/topic/s55-order.${i % 7}`, receipt: `o${i}` }, String(i)))));
    await c.waitFor(() => c.frames.filter((f) => f.command === 'RECEIPT').length >= n);
    assert.deepEqual(
      c.frames.filter((f) => f.command === 'RECEIPT').map((f) => header(f, 'receipt-id')),
      Array.from({ length: n }, (_, i) => `o${i}`),
    );
  });
});

describe('server frames: receipts are cumulative', () => {
  const { broker, connectRaw } = useBroker();

  test('#56 SEND xN to a queue, then SUBSCRIBE with receipt: after the RECEIPT all N are in the queue', async () => {
    for (const kind of TRANSPORTS) {
      const q = unique('/queue/s56-');
      const n = 100;
      const before = await metric(broker(), 'stompede_queued_messages');
      const p = await connectRaw(kind);
      // N SENDs without receipts, then one SUBSCRIBE (elsewhere) with a receipt, in one go.
      const sends = Array.from({ length: n }, (_, i) => frame('SEND', { destination: q }, `m${i}`));
      if (kind === 'tcp') p.send(Buffer.concat(sends));
      else for (const s of sends) p.send(s);
      await p.sendWithReceipt('SUBSCRIBE', { id: 'other', destination: unique('/topic/s56-') });
      assert.equal(await metric(broker(), 'stompede_queued_messages'), before + n, 'every SEND before the RECEIPT was processed');
      // The same connection subscribes: all N, in order.
      await p.sendWithReceipt('SUBSCRIBE', { id: 'q', destination: q });
      assert.deepEqual(bodies(await waitMessages(p, n, 'q')), Array.from({ length: n }, (_, i) => `m${i}`));
    }
  });

  test('#56 frames before DISCONNECT are processed: SEND xN + DISCONNECT receipt, then another consumer gets all N', async () => {
    for (const kind of TRANSPORTS) {
      const q = unique('/queue/s56-disc-');
      const n = 50;
      const p = await connectRaw(kind);
      const frames = [...Array.from({ length: n }, (_, i) => frame('SEND', { destination: q }, `d${i}`)), frame('DISCONNECT', { receipt: 'bye' })];
      if (kind === 'tcp') p.send(Buffer.concat(frames));
      else for (const f of frames) p.send(f);
      await p.waitForCommand('RECEIPT');
      await p.waitClosed();
      assert.deepEqual(bodies(await drain(await connectRaw('tcp'), q)), Array.from({ length: n }, (_, i) => `d${i}`));
    }
  });

  test('#56 a receipt on the last of N topic SENDs: every subscriber gets all N, in order', async () => {
    const topic = unique('/topic/s56-');
    const subs = await Promise.all([connectRaw('tcp'), connectRaw('ws')]);
    const p = await connectRaw('tcp');
    for (const s of subs) await s.sendWithReceipt('SUBSCRIBE', { id: 's', destination: topic });
    const list = Array.from({ length: 100 }, (_, i) => `t${i}`);
    await sendAll(p, topic, list);
    for (const s of subs) assert.deepEqual(bodies(await waitMessages(s, 100, 's')), list);
  });
});
