// The drain's timeline with a fake clock: readiness off at once, new connections refused after the
// grace, clients closed one per slot of the window (each with the drain ERROR), done when the last
// one is gone; and the ways a drain is refused or cancelled.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { DrainPhase } from '@stompede/admin-api';
import { Drainer, spreadSlots, type DrainHooks, type NodeState } from '../src/drain.js';
import { Kit, type Client } from '../../session/test/kit.js';

class RecordingHooks implements DrainHooks {
  ready = true;
  accepting = true;
  readonly announced: NodeState[] = [];
  setReady(ready: boolean): void {
    this.ready = ready;
  }
  async setAccepting(accepting: boolean): Promise<void> {
    this.accepting = accepting;
  }
  announce(state: NodeState): void {
    this.announced.push(state);
  }
}

/** Sockets whose session ended: the client took the ERROR and went away. */
function closeEnded(kit: Kit, clients: readonly Client[]): number {
  kit.flush();
  let n = 0;
  for (const c of clients) {
    if (c.transport.ended && c.session.state !== 'closed') c.closed();
    if (c.session.state === 'closed') n++;
  }
  return n;
}

/** Advances the fake clock in small steps, letting timers and promise callbacks run. */
async function advance(ms: number, step = 10): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    mock.timers.tick(step);
    await Promise.resolve();
  }
}

describe('spreadSlots', () => {
  test('gives each client its own equal slice of the window, jittered inside it', () => {
    let seed = 7;
    const random = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const slots = spreadSlots(40, 20_000, random);
    assert.equal(slots.length, 40);
    slots.forEach((t, i) => assert.ok(t >= i * 500 && t < (i + 1) * 500, `slot ${i} at ${t}`));
    assert.ok(new Set(slots.map((t) => t % 500)).size > 30, 'jittered, not on a grid');
    assert.deepEqual(spreadSlots(0, 1000, random), []);
  });
});

describe('Drainer', () => {
  let kit: Kit;
  let hooks: RecordingHooks;
  let drainer: Drainer;
  let clients: Client[];

  beforeEach(async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    kit = await Kit.create();
    hooks = new RecordingHooks();
    drainer = new Drainer(kit.hub, 'node-a', hooks, () => 0.5);
    clients = Array.from({ length: 10 }, () => kit.connected());
  });

  afterEach(() => mock.timers.reset());

  test('readiness goes at once, connections are refused after the grace, clients leave one per slot', async () => {
    const phases: DrainPhase[] = [];
    drainer.onProgress((s) => phases.push(s.phase));
    drainer.start({ graceMs: 1_000, windowMs: 10_000, shutdown: false });
    assert.equal(hooks.ready, false);
    assert.equal(drainer.state, 'draining');
    assert.deepEqual(hooks.announced, ['draining']);
    await advance(990);
    assert.equal(hooks.accepting, true, 'still accepting during the grace');
    assert.equal(closeEnded(kit, clients), 0);
    await advance(20);
    assert.equal(hooks.accepting, false);
    // Slots at (i + 0.5) * 1000 ms into the window.
    for (let i = 0; i < 10; i++) {
      await advance(1_000);
      assert.equal(closeEnded(kit, clients), i + 1, `after ${i + 1} s of the window`);
    }
    await drainer.whenDrained();
    assert.equal(drainer.state, 'drained');
    assert.equal(phases[0], DrainPhase.DRAIN_PHASE_GRACE);
    assert.ok(phases.includes(DrainPhase.DRAIN_PHASE_CLOSING));
    assert.equal(phases.at(-1), DrainPhase.DRAIN_PHASE_DRAINED);
    assert.deepEqual(hooks.announced, ['draining', 'drained']);
    for (const c of clients) {
      const error = c.take().at(-1)!;
      assert.equal(error.command, 'ERROR');
      assert.equal(error.h('message'), 'node draining');
      assert.equal(error.h('x-draining'), 'true');
      assert.equal(error.h('x-node-id'), 'node-a');
    }
  });

  test('clients that leave on their own end the drain early', async () => {
    drainer.start({ graceMs: 0, windowMs: 60_000, shutdown: false });
    await advance(10);
    for (const c of clients) c.closed();
    await drainer.whenDrained();
    assert.ok(Date.now() - 1_000_000 < 1_000, 'done long before the window ends');
  });

  test('sockets that close inside end(), as uWS does, each after its ERROR: the drain ends with the last', async () => {
    for (const c of clients) {
      const end = c.transport.end.bind(c.transport);
      c.transport.end = () => {
        end();
        c.closed();
      };
    }
    drainer.start({ graceMs: 0, windowMs: 10_000, shutdown: false });
    await advance(10);
    clients.at(-1)!.closed(); // one leaves on its own: a slot is left over when the last is closed
    await advance(9_500);
    await drainer.whenDrained();
    assert.deepEqual(hooks.announced, ['draining', 'drained']);
    for (const c of clients.slice(0, -1)) assert.equal(c.take().at(-1)?.h('message'), 'node draining');
    await advance(1_000);
    assert.equal(drainer.state, 'drained');
  });

  test('a window of 0 closes everyone at once; no clients at all drains after the grace', async () => {
    drainer.start({ graceMs: 0, windowMs: 0, shutdown: false });
    await advance(10);
    assert.equal(closeEnded(kit, clients), 10);
    await drainer.whenDrained();
    const empty = new Drainer((await Kit.create()).hub, 'node-b', new RecordingHooks());
    empty.start({ graceMs: 500, windowMs: 5_000, shutdown: false });
    await advance(490);
    assert.equal(empty.state, 'draining');
    await advance(20);
    assert.equal(empty.state, 'drained');
  });

  test('a second drain is FAILED_PRECONDITION, while draining and once drained', async () => {
    drainer.start({ graceMs: 100, windowMs: 0, shutdown: false });
    assert.throws(() => drainer.start({ graceMs: 0, windowMs: 0, shutdown: false }), (e: { code: number; message: string }) => e.code === status.FAILED_PRECONDITION && /already draining/.test(e.message));
    await advance(110);
    closeEnded(kit, clients);
    await drainer.whenDrained();
    assert.throws(() => drainer.start({ graceMs: 0, windowMs: 0, shutdown: false }), (e: { code: number }) => e.code === status.FAILED_PRECONDITION);
  });

  test('Undrain stops the closing, serves again, and tells the stream; not when shutting down or not draining', async () => {
    await assert.rejects(drainer.cancel(), (e: { code: number }) => e.code === status.FAILED_PRECONDITION);
    const phases: DrainPhase[] = [];
    drainer.onProgress((s) => phases.push(s.phase));
    drainer.start({ graceMs: 0, windowMs: 10_000, shutdown: false });
    const waited = drainer.whenDrained();
    await advance(2_100);
    const closedBefore = closeEnded(kit, clients);
    assert.ok(closedBefore >= 1 && closedBefore <= 3, `${closedBefore} closed in 2 s of a 10 s window`);
    await drainer.cancel();
    await assert.rejects(waited, /cancelled/);
    assert.equal(drainer.state, 'serving');
    assert.equal(hooks.ready, true);
    assert.equal(hooks.accepting, true);
    assert.equal(phases.at(-1), DrainPhase.DRAIN_PHASE_CANCELLED);
    await advance(10_000);
    assert.equal(closeEnded(kit, clients), closedBefore, 'nobody else is closed');
    drainer.start({ graceMs: 0, windowMs: 1_000, shutdown: true });
    await assert.rejects(drainer.cancel(), /shutting down/);
  });
});
