// STOMP 1.2 server checklist, section 2.4 client frames: DISCONNECT (rule #49). An open
// transaction at DISCONNECT (#48) is in conformance-client-transactions.test.ts.
//
// "Nothing was delivered" is always proven with a barrier: a marker published after the frames in
// question, to the same destination. A subscription receives messages of one destination in publish
// order, so whatever had not arrived before the marker was never published.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bodies, drain, unique } from './helpers/conformance-kit.js';
import { frame, header, TRANSPORTS } from './helpers/raw-client.js';
import { useBroker } from './helpers/suite.js';

const MAX_FRAME_BYTES = 2048;

describe('client frames: DISCONNECT (#49)', () => {
  // maxHeaderLineBytes must not exceed maxFrameBytes (its default does).
  const { connectRaw, stompjs } = useBroker({ env: { STOMPEDE_MAX_FRAME_BYTES: String(MAX_FRAME_BYTES), STOMPEDE_MAX_HEADER_LINE_BYTES: '1024' } });

  // ---------------------------------------------------------------- #49 DISCONNECT

  test('#49 DISCONNECT with receipt: RECEIPT arrives, then the broker closes', async () => {
    for (const kind of TRANSPORTS) {
      const c = await connectRaw(kind);
      c.send(frame('DISCONNECT', { receipt: 'bye-1' }));
      const r = await c.waitForCommand('RECEIPT');
      assert.equal(header(r, 'receipt-id'), 'bye-1');
      await c.waitClosed();
      assert.deepEqual(c.frames.map((f) => f.command), ['CONNECTED', 'RECEIPT'], `${kind}: nothing but the RECEIPT`);
      assert.equal(r.body.length, 0);
    }
  });

  test('#49 DISCONNECT without receipt: the broker closes without ERROR', async () => {
    for (const kind of TRANSPORTS) {
      const c = await connectRaw(kind);
      c.send(frame('DISCONNECT'));
      await c.waitClosed();
      assert.deepEqual(c.frames.map((f) => f.command), ['CONNECTED']);
    }
  });

  test('#49 DISCONNECT behind pending output: the 300 MESSAGEs routed before it, then the RECEIPT, then close', async () => {
    for (const kind of TRANSPORTS) {
      const topic = unique('/topic/c49-');
      const c = await connectRaw(kind);
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
    }
  });

  test('#49 stompjs deactivate() disconnects cleanly', async () => {
    const js = await stompjs();
    const errors: string[] = [];
    js.onStompError = (f) => errors.push(f.headers['message'] ?? '');
    await js.deactivate();
    assert.equal(js.connected, false);
    assert.deepEqual(errors, []);
  });

  test('#49 frames pipelined before DISCONNECT are processed', async () => {
    const q = unique('/queue/c49-pipe-');
    const c = await connectRaw('tcp');
    c.send(Buffer.concat([...['p1', 'p2', 'p3'].map((b) => frame('SEND', { destination: q }, b)), frame('DISCONNECT', { receipt: 'x' })]));
    await c.waitForCommand('RECEIPT');
    await c.waitClosed();
    assert.deepEqual(bodies(await drain(await connectRaw('tcp'), q)), ['p1', 'p2', 'p3']);
  });
});
