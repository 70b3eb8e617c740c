// A RECEIPT for SUBSCRIBE promises that every message published after it is delivered, which with
// a clustered broker holds only once the broker's `watch` of the destination has completed. The
// router watches a destination or pattern once for all its local subscriptions, so a second
// subscription that arrives while that watch is still completing must wait for it too.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ControlledBroker } from './controlled-broker.js';
import { Kit, settle, type Received } from './kit.js';

async function controlledKit() {
  const control = new ControlledBroker();
  const kit = await Kit.create({ broker: (m) => control.wrap(m) });
  return { kit, control };
}

const answers = (frames: Received[]) => frames.map((f) => `${f.command}:${f.h('receipt-id') ?? f.h('message') ?? f.text}`);

describe('SUBSCRIBE receipts wait for the broker watch', () => {
  for (const ack of ['auto', 'client']) {
    test(`the RECEIPT comes once the watch completes (ack ${ack})`, async () => {
      const { kit, control } = await controlledKit();
      const c = kit.connected();
      c.send('SUBSCRIBE', { id: 's', destination: '/topic/a', ack, receipt: 'r1' });
      await settle(kit);
      assert.deepEqual(c.take(), []);
      assert.deepEqual(control.watches.map((w) => w.pattern), ['/topic/a']);
      control.watches[0]!.gate.resolve();
      await settle(kit);
      assert.deepEqual(answers(c.take()), ['RECEIPT:r1']);
    });
  }

  test('a second subscription to a destination whose watch is pending waits for that watch', async () => {
    const { kit, control } = await controlledKit();
    const first = kit.connected();
    const second = kit.connected();
    first.send('SUBSCRIBE', { id: 's', destination: '/topic/a.*', receipt: 'r1' });
    second.send('SUBSCRIBE', { id: 's', destination: '/topic/a.*', ack: 'client-individual', receipt: 'r2' });
    await settle(kit);
    assert.equal(control.watches.length, 1, 'one watch per pattern');
    assert.deepEqual(first.take(), []);
    assert.deepEqual(second.take(), []);
    control.watches[0]!.gate.resolve();
    await settle(kit);
    assert.deepEqual(answers(first.take()), ['RECEIPT:r1']);
    assert.deepEqual(answers(second.take()), ['RECEIPT:r2']);
    // Once it completed, later subscriptions have nothing to wait for.
    const third = kit.connected();
    third.send('SUBSCRIBE', { id: 's', destination: '/topic/a.*', receipt: 'r3' });
    kit.flush();
    assert.deepEqual(answers(third.take()), ['RECEIPT:r3']);
    assert.equal(control.watches.length, 1);
  });

  test('a frame without receipt is not held up by the watch, and messages flow meanwhile', async () => {
    const { kit, control } = await controlledKit();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/a' });
    c.send('SEND', { destination: '/topic/a' }, 'local');
    kit.flush();
    // The memory broker behind the double delivers locally whatever the watch is doing.
    assert.deepEqual(c.takeBodies(), ['local']);
    control.watches[0]!.gate.resolve();
    await settle(kit);
    assert.deepEqual(c.take(), []);
  });

  test('a failed watch is an ERROR for the subscriptions that asked for a RECEIPT, not for the others', async () => {
    const { kit, control } = await controlledKit();
    const first = kit.connected();
    const second = kit.connected();
    first.send('SUBSCRIBE', { id: 's', destination: '/topic/a', receipt: 'r1' });
    second.send('SUBSCRIBE', { id: 's', destination: '/topic/a' });
    // An unrelated subscription is not affected.
    const other = kit.connected();
    other.send('SUBSCRIBE', { id: 's', destination: '/topic/b', receipt: 'rb' });
    control.watches[0]!.gate.reject(new Error('redis down'));
    control.watches[1]!.gate.resolve();
    await settle(kit);
    const [e1] = first.take();
    assert.equal(e1?.h('message'), 'broker unavailable');
    assert.equal(e1.h('receipt-id'), 'r1');
    assert.match(e1.text, /redis down/);
    assert.equal(first.transport.ended, true);
    // Without a receipt nothing was promised: local delivery goes on (the broker retries the watch).
    assert.deepEqual(second.take(), []);
    assert.equal(second.transport.ended, false);
    assert.deepEqual(answers(other.take()), ['RECEIPT:rb']);
    second.send('SEND', { destination: '/topic/a' }, 'still local');
    kit.flush();
    assert.deepEqual(second.takeBodies(), ['still local']);
    assert.deepEqual(control.unwatches, []);
  });

  test('subscriptions made after a watch failed are not refused for it', async () => {
    const { kit, control } = await controlledKit();
    // A subscriber without receipt keeps the destination's node alive through the failure.
    const keeper = kit.connected();
    keeper.send('SUBSCRIBE', { id: 'k', destination: '/topic/a' });
    const first = kit.connected();
    first.send('SUBSCRIBE', { id: 'a', destination: '/topic/a', receipt: 'ra' });
    control.watches[0]!.gate.reject(new Error('redis down'));
    await settle(kit);
    assert.deepEqual(answers(first.take()), ['ERROR:ra']);
    const late = kit.connected();
    late.send('SUBSCRIBE', { id: 's', destination: '/topic/a', receipt: 'late' });
    await settle(kit);
    assert.deepEqual(answers(late.take()), ['RECEIPT:late']);
    assert.equal(control.watches.length, 1, 'the node keeps its watch; the broker retries it');
    assert.deepEqual(keeper.take(), []);
  });

  test('unsubscribing while the watch is pending unwatches; the late outcome is harmless', async () => {
    for (const outcome of ['resolve', 'reject'] as const) {
      const { kit, control } = await controlledKit();
      const c = kit.connected();
      c.send('SUBSCRIBE', { id: 's', destination: '/topic/a', receipt: 'r1' });
      c.send('UNSUBSCRIBE', { id: 's', receipt: 'r2' });
      assert.deepEqual(control.unwatches, ['/topic/a']);
      // A new subscription to the same destination is a new watch, with its own completion.
      c.send('SUBSCRIBE', { id: 's2', destination: '/topic/a', receipt: 'r3' });
      assert.equal(control.watches.length, 2);
      if (outcome === 'resolve') control.watches[0]!.gate.resolve();
      else control.watches[0]!.gate.reject(new Error('given up'));
      await settle(kit);
      assert.deepEqual(answers(c.take()), ['RECEIPT:r1', 'RECEIPT:r2'], outcome);
      control.watches[1]!.gate.resolve();
      await settle(kit);
      assert.deepEqual(answers(c.take()), ['RECEIPT:r3'], outcome);
      c.send('SEND', { destination: '/topic/a' }, 'x');
      kit.flush();
      assert.deepEqual(c.takeBodies(), ['x'], outcome);
    }
  });

  test('a connection closed while its watch is pending is quiet when the watch fails', async () => {
    const { kit, control } = await controlledKit();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/a', receipt: 'r1' });
    c.closed();
    control.watches[0]!.gate.reject(new Error('late'));
    await settle(kit);
    assert.equal(c.transport.writes.length, 1); // CONNECTED only
  });

  test('queue subscriptions do not watch', async () => {
    const { kit, control } = await controlledKit();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/a', receipt: 'r1' });
    kit.flush();
    assert.deepEqual(answers(c.take()), ['RECEIPT:r1']);
    assert.equal(control.watches.length, 0);
  });
});
