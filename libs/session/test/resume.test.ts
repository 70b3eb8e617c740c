// Resumable topic subscriptions (SUBSCRIBE x-resume-after:<message-id>): the history after that
// message, then live messages, with no gap and no duplicate however the broker's watch, its replay
// and live messages interleave; the x-resume-gap mark when history falls short; and refusals.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HistoryPrefix } from '@stompede/broker-api';
import { ControlledBroker } from './controlled-broker.js';
import { Kit, settle, type Client, type KitOptions, type Received } from './kit.js';

const TOPIC = '/topic/prices';

async function resumeKit(options: { async?: boolean; history?: HistoryPrefix[]; config?: KitOptions['config'] } = {}) {
  const control = new ControlledBroker();
  control.asyncWatch = options.async ?? false;
  control.asyncReplay = options.async ?? false;
  const kit = await Kit.create({
    history: options.history ?? [{ prefix: '/topic/', messages: 1000 }],
    broker: (m) => control.wrap(m),
    config: options.config,
  });
  const pub = kit.connected();
  return { kit, control, pub };
}

function publish(pub: Client, bodies: string[], destination = TOPIC): void {
  for (const b of bodies) pub.send('SEND', { destination }, b);
}

/** The message-ids of what the history holds, by body. */
function idsByBody(kit: Kit, destination = TOPIC): Map<string, string> {
  const all = kit.memory.replay('/', destination, `${destination}@0-0`).messages;
  return new Map(all.map((m) => [new TextDecoder().decode(m.body), m.id]));
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `m${from + i}`);

const messages = (frames: Received[]) => frames.filter((f) => f.command === 'MESSAGE');
const gaps = (frames: Received[]) => messages(frames).map((f) => f.h('x-resume-gap') ?? '-');

describe('x-resume-after', () => {
  for (const ack of ['auto', 'client', 'client-individual']) {
    test(`replays what was missed, then delivers live (ack ${ack})`, async () => {
      const { kit, pub } = await resumeKit();
      const before = kit.connected();
      before.send('SUBSCRIBE', { id: 's', destination: TOPIC });
      kit.flush();
      publish(pub, range(0, 3));
      kit.flush();
      const seen = before.take();
      assert.deepEqual(seen.map((f) => f.text), range(0, 3));
      before.closed();
      publish(pub, range(3, 7));
      kit.flush();
      // A plain subscriber on the same destination is unaffected by its neighbour's resume.
      const plain = kit.connected();
      plain.send('SUBSCRIBE', { id: 's', destination: TOPIC });
      const c = kit.connected();
      c.send('SUBSCRIBE', { id: 's', destination: TOPIC, ack, 'x-resume-after': seen[2]!.h('message-id')!, receipt: 'r' });
      kit.flush();
      const replayed = c.take();
      assert.deepEqual(replayed.map((f) => f.command === 'RECEIPT' ? 'RECEIPT' : f.text), [...range(3, 7), 'RECEIPT']);
      assert.deepEqual(gaps(replayed), ['-', '-', '-', '-']);
      assert.equal(replayed[0]!.h('subscription'), 's');
      assert.equal(replayed[0]!.h('ack') !== undefined, ack !== 'auto');
      publish(pub, range(7, 9));
      kit.flush();
      assert.deepEqual(c.takeBodies(), range(7, 9));
      assert.deepEqual(plain.takeBodies(), range(7, 9));
    });
  }

  test('resuming after the newest message replays nothing and goes live', async () => {
    const { kit, pub } = await resumeKit();
    publish(pub, range(0, 3));
    const ids = idsByBody(kit);
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: TOPIC, 'x-resume-after': ids.get('m2')! });
    kit.flush();
    assert.deepEqual(c.take(), []);
    publish(pub, ['m3']);
    kit.flush();
    assert.deepEqual(gaps(c.take()), ['-']);
  });

  test('the RECEIPT waits for the watch and the replay, and follows the replayed messages', async () => {
    const { kit, control, pub } = await resumeKit({ async: true });
    publish(pub, range(0, 4));
    const ids = idsByBody(kit);
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: TOPIC, 'x-resume-after': ids.get('m1')!, receipt: 'r' });
    await settle(kit);
    assert.equal(control.replays.length, 0, 'the history is read once the watch completed');
    control.watches[0]!.gate.resolve();
    await settle(kit);
    assert.equal(control.replays.length, 1);
    assert.deepEqual(c.take(), []);
    control.replays[0]!.resolveNow();
    await settle(kit);
    assert.deepEqual(c.take().map((f) => f.command === 'RECEIPT' ? 'RECEIPT' : f.text), ['m2', 'm3', 'RECEIPT']);
  });

  describe('no gap and no duplicate however watch, replay and live messages interleave', () => {
    // A seeded generator, so that a failure names the interleaving that produced it.
    function random(seed: number): () => number {
      let s = seed >>> 0;
      return () => {
        s = (s * 1664525 + 1013904223) >>> 0;
        return s / 2 ** 32;
      };
    }

    for (const strictInterest of [false, true]) {
      for (const ack of ['auto', 'client-individual']) {
        test(`strict interest ${strictInterest}, ack ${ack}`, async () => {
          for (let seed = 1; seed <= 40; seed++) {
            const rnd = random(seed);
            const { kit, control, pub } = await resumeKit({ async: true, config: { maxUnacked: 1000 } });
            // strictInterest: live messages reach the node only once the watch completed, so what
            // is published before that must come from the replay.
            control.strictInterest = strictInterest;
            let n = 0;
            const next = () => `m${n++}`;
            publish(pub, Array.from({ length: 5 + Math.floor(rnd() * 5) }, next));
            const ids = idsByBody(kit);
            const after = Math.floor(rnd() * n);
            const c = kit.connected();
            c.send('SUBSCRIBE', { id: 's', destination: TOPIC, ack, 'x-resume-after': ids.get(`m${after}`)! });
            const received: Received[] = [];
            let watched = false;
            let replayed = false;
            while (!replayed) {
              const roll = rnd();
              if (roll < 0.5) {
                publish(pub, [next()]);
              } else if (!watched) {
                control.watches[0]!.gate.resolve();
                watched = true;
              } else if (control.replays.length === 1) {
                const r = control.replays[0]!;
                // The history as it was when asked for, or as it is now (overlapping live messages).
                if (rnd() < 0.5) r.gate.resolve(r.atRequest);
                else r.resolveNow();
                replayed = true;
              }
              await settle(kit);
              received.push(...c.take());
            }
            publish(pub, [next(), next()]);
            await settle(kit);
            received.push(...c.take());
            const label = `seed ${seed}: after m${after} of ${n}`;
            assert.deepEqual(received.map((f) => f.text), range(after + 1, n), label);
            assert.ok(received.every((f) => f.h('x-resume-gap') === undefined), label);
          }
        });
      }
    }
  });

  test('client mode with a small prefetch: replayed and waiting live messages come in order as acks make room', async () => {
    const { kit, control, pub } = await resumeKit({ async: true });
    publish(pub, range(0, 6));
    const ids = idsByBody(kit);
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: TOPIC, ack: 'client', 'prefetch-count': '2', 'x-resume-after': ids.get('m0')! });
    control.watches[0]!.gate.resolve();
    publish(pub, range(6, 8));
    await settle(kit);
    control.replays[0]!.resolveNow();
    await settle(kit);
    const bodies: string[] = [];
    for (let round = 0; round < 10 && bodies.length < 7; round++) {
      const frames = c.take();
      assert.ok(frames.length <= 2, 'no more than prefetch-count unacked');
      bodies.push(...frames.map((f) => f.text));
      if (frames.length > 0) c.send('ACK', { id: frames.at(-1)!.h('ack')! });
      kit.flush();
    }
    assert.deepEqual(bodies, range(1, 8));
  });

  describe('x-resume-gap', () => {
    test('marks the first replayed MESSAGE when history no longer reaches back', async () => {
      const { kit, pub } = await resumeKit({ history: [{ prefix: '/topic/', messages: 3 }] });
      const early = kit.connected();
      early.send('SUBSCRIBE', { id: 's', destination: TOPIC });
      kit.flush();
      publish(pub, range(0, 3));
      kit.flush();
      const lastSeen = early.take()[1]!.h('message-id')!; // m1
      publish(pub, range(3, 8));
      const c = kit.connected();
      c.send('SUBSCRIBE', { id: 's', destination: TOPIC, 'x-resume-after': lastSeen });
      kit.flush();
      const frames = c.take();
      assert.deepEqual(frames.map((f) => f.text), range(5, 8));
      assert.deepEqual(gaps(frames), ['true', '-', '-']);
      publish(pub, ['m8']);
      kit.flush();
      assert.deepEqual(gaps(c.take()), ['-']);
    });

    test('marks the first live MESSAGE, whenever it comes, when there is nothing to replay', async () => {
      // No history kept for this prefix: a resume can never be shown to be complete.
      const { kit, pub } = await resumeKit({ history: [{ prefix: '/topic/', messages: 10 }, { prefix: '/topic/nohist.', messages: 0 }] });
      const destination = '/topic/nohist.a';
      const early = kit.connected();
      early.send('SUBSCRIBE', { id: 's', destination });
      kit.flush();
      publish(pub, ['old'], destination);
      kit.flush();
      const lastSeen = early.take()[0]!.h('message-id')!;
      const c = kit.connected();
      c.send('SUBSCRIBE', { id: 's', destination, ack: 'client-individual', 'x-resume-after': lastSeen, receipt: 'r' });
      kit.flush();
      assert.deepEqual(c.take().map((f) => f.command), ['RECEIPT']);
      publish(pub, ['new1', 'new2'], destination);
      kit.flush();
      const frames = c.take();
      assert.deepEqual(frames.map((f) => f.text), ['new1', 'new2']);
      assert.deepEqual(gaps(frames), ['true', '-']);
    });

    test('marks the first MESSAGE when the replay answers later, after live messages waited', async () => {
      const { kit, control, pub } = await resumeKit({ async: true, history: [{ prefix: '/topic/', messages: 2 }] });
      const early = kit.connected();
      early.send('SUBSCRIBE', { id: 's', destination: TOPIC });
      control.watches[0]!.gate.resolve();
      await settle(kit);
      publish(pub, range(0, 5));
      kit.flush();
      const m0 = early.take()[0]!.h('message-id')!;
      early.closed();
      const c = kit.connected();
      // m0 has been trimmed: history holds m3, m4.
      c.send('SUBSCRIBE', { id: 's', destination: TOPIC, 'x-resume-after': m0 });
      control.watches[1]!.gate.resolve();
      await settle(kit);
      publish(pub, ['m5']);
      await settle(kit);
      assert.deepEqual(c.take(), []);
      control.replays[0]!.gate.resolve(control.replays[0]!.atRequest);
      await settle(kit);
      const frames = c.take();
      assert.deepEqual(frames.map((f) => f.text), ['m3', 'm4', 'm5']);
      assert.deepEqual(gaps(frames), ['true', '-', '-']);
    });

    test('a publisher cannot set it', async () => {
      const { kit, pub } = await resumeKit();
      const c = kit.connected();
      c.send('SUBSCRIBE', { id: 's', destination: TOPIC });
      kit.flush();
      pub.send('SEND', { destination: TOPIC, 'x-resume-gap': 'true' }, 'spoof');
      kit.flush();
      assert.deepEqual(gaps(c.take()), ['-']);
    });
  });

  describe('refusals', () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ['a queue', { destination: '/queue/q', 'x-resume-after': '/queue/q@1-0' }, /is a queue/],
      ['a wildcard pattern', { destination: '/topic/a.*', 'x-resume-after': '/topic/a.b@1-0' }, /wildcard/],
      ['an id that is not a message-id', { destination: TOPIC, 'x-resume-after': 'abc' }, /not a message-id/],
      ['an empty id', { destination: TOPIC, 'x-resume-after': '' }, /not a message-id/],
      ['an id of another destination', { destination: TOPIC, 'x-resume-after': '/topic/other@1-0' }, /is a message of \/topic\/other, not of \/topic\/prices/],
    ];
    for (const [what, headers, detail] of cases) {
      test(`ERROR for ${what}`, async () => {
        const { kit, control } = await resumeKit();
        const c = kit.connected();
        c.send('SUBSCRIBE', { id: 's', receipt: 'r', ...headers });
        kit.flush();
        const [e, ...rest] = c.take();
        assert.equal(e?.command, 'ERROR');
        assert.equal(e.h('message'), 'invalid x-resume-after');
        assert.equal(e.h('receipt-id'), 'r');
        assert.match(e.text, detail);
        assert.deepEqual(rest, []);
        assert.equal(c.transport.ended, true);
        assert.deepEqual(kit.hub.router.stats('/'), { topics: 0, queues: 0 });
        assert.equal(control.replays.length, 0);
      });
    }
  });

  test('a failed replay is an ERROR with the SUBSCRIBE receipt', async () => {
    const { kit, control, pub } = await resumeKit({ async: true });
    publish(pub, ['m0']);
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: TOPIC, 'x-resume-after': idsByBody(kit).get('m0')!, receipt: 'r' });
    control.watches[0]!.gate.resolve();
    await settle(kit);
    publish(pub, ['m1']);
    control.replays[0]!.gate.reject(new Error('XRANGE failed'));
    await settle(kit);
    const [e, ...rest] = c.take();
    assert.equal(e?.h('message'), 'broker unavailable');
    assert.equal(e.h('receipt-id'), 'r');
    assert.match(e.text, /XRANGE failed/);
    assert.deepEqual(rest, []);
    assert.equal(c.transport.ended, true);
  });

  test('unsubscribing or closing while the replay is pending delivers nothing', async () => {
    for (const leave of ['unsubscribe', 'close'] as const) {
      const { kit, control, pub } = await resumeKit({ async: true });
      publish(pub, range(0, 3));
      const c = kit.connected();
      c.send('SUBSCRIBE', { id: 's', destination: TOPIC, 'x-resume-after': idsByBody(kit).get('m0')!, receipt: 'r1' });
      control.watches[0]!.gate.resolve();
      await settle(kit);
      publish(pub, ['m3']);
      if (leave === 'unsubscribe') c.send('UNSUBSCRIBE', { id: 's', receipt: 'r2' });
      else c.closed();
      control.replays[0]!.resolveNow();
      await settle(kit);
      const frames = c.take();
      assert.deepEqual(frames.map((f) => f.command), leave === 'unsubscribe' ? ['RECEIPT', 'RECEIPT'] : [], leave);
    }
  });

  test('live messages waiting for a slow replay are bounded like any unread output', async () => {
    const { kit, control, pub } = await resumeKit({ async: true, config: { maxPendingOutboundBytes: 64 * 1024 } });
    publish(pub, ['m0']);
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: TOPIC, 'x-resume-after': idsByBody(kit).get('m0')! });
    control.watches[0]!.gate.resolve();
    await settle(kit);
    const big = 'x'.repeat(40 * 1024);
    publish(pub, [big, big]);
    kit.flush();
    const [e] = c.take();
    assert.equal(e?.h('message'), 'slow consumer');
    control.replays[0]!.resolveNow();
    await settle(kit);
    assert.deepEqual(c.take(), []);
  });
});
