// Time-driven behaviour with the injected clock: server heart-beats (EOL when idle), closing silent
// clients after grace x interval, and the connect timeout. hub.tick() is what the hub's interval
// timer calls; here the test calls it after moving the clock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Kit, type Client } from './kit.js';

// Server offer 1000,1000 (at the floor), so the hub ticks every 250 ms and a client asking for
// 1000,1000 gets beats every 1000 ms and must send something every 1000 ms (dead after 2000 ms).
const config = { heartbeatMs: [1_000, 1_000] as const, heartbeatFloorMs: 1_000, heartbeatGrace: 2 };

async function beating(hb = '1000,1000', native = true): Promise<{ kit: Kit; c: Client }> {
  const kit = await Kit.create({ config });
  const c = kit.connected({ 'accept-version': '1.2', 'heart-beat': hb }, native);
  return { kit, c };
}

/** Moves the clock in hub-tick steps, ticking and ending the turn each time. */
function run(kit: Kit, ms: number, each?: () => void): void {
  for (let t = 0; t < ms; t += kit.hub.tickMs) {
    kit.advance(kit.hub.tickMs);
    each?.();
    kit.hub.tick();
    kit.flush();
  }
}

describe('server heart-beats', () => {
  test('the hub ticks every min(250, floor/4) ms', async () => {
    assert.equal((await Kit.create({ config })).hub.tickMs, 250);
    assert.equal((await Kit.create({ config: { heartbeatFloorMs: 200 } })).hub.tickMs, 50);
  });

  test('an idle connection gets an EOL about every interval, never later', async () => {
    const { kit, c } = await beating();
    assert.equal(c.session.sendEveryMs, 1_000);
    const beatAt: number[] = [kit.ms]; // CONNECTED was the last write
    run(kit, 5_000, () => {
      c.raw('\n'); // the client beats, so it stays alive
      if (c.transport.beats >= beatAt.length) beatAt.push(kit.ms - kit.hub.tickMs);
    });
    const gaps = beatAt.slice(1).map((t, i) => t - beatAt[i]!);
    assert.ok(gaps.length >= 4, `beats: ${gaps.length}`);
    for (const g of gaps) assert.ok(g >= 750 && g <= 1_000, `gap ${g} ms`);
    assert.deepEqual(c.take(), [], 'heart-beats are not frames');
    assert.equal(c.session.state, 'connected');
  });

  // Per-socket output only: native group publishes bypass the session (that is their point), so a
  // WebSocket member of a busy group may still get the odd EOL, which is harmless.
  test('no EOL while other output keeps the connection busy', async () => {
    const { kit, c } = await beating('1000,1000', false);
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/busy' });
    kit.flush();
    let n = 0;
    run(kit, 3_000, () => {
      c.raw('\n');
      c.send('SEND', { destination: '/topic/busy' }, String(n++));
    });
    assert.equal(c.transport.beats, 0);
    assert.equal(c.take().length, n);
  });

  test('first beat once the interval (minus one tick) passed since the last write', async () => {
    const { kit, c } = await beating();
    kit.advance(700);
    kit.hub.tick();
    kit.flush();
    assert.equal(c.transport.beats, 0);
    kit.advance(50); // 750 = 1000 - tickMs
    kit.hub.tick();
    kit.flush();
    assert.equal(c.transport.beats, 1);
    // The beat was a write: the next one is due a full interval later.
    kit.advance(500);
    kit.hub.tick();
    kit.flush();
    assert.equal(c.transport.beats, 1);
  });

  test('no beats when the client asked for none (x,0) or the server offers none', async () => {
    const { kit, c } = await beating('1000,0');
    run(kit, 5_000, () => c.raw('\n'));
    assert.equal(c.transport.beats, 0);

    const quiet = await Kit.create({ config: { heartbeatMs: [0, 0] } });
    const q = quiet.connected({ 'accept-version': '1.2', 'heart-beat': '1000,1000' });
    run(quiet, 120_000);
    assert.equal(q.transport.beats, 0);
    assert.equal(q.session.state, 'connected');
  });

  test('STOMP 1.0 connections get no heart-beats and are never timed out', async () => {
    const kit = await Kit.create({ config });
    const c = kit.connected({ 'heart-beat': '1000,1000' });
    run(kit, 10_000);
    assert.equal(c.transport.beats, 0);
    assert.equal(c.session.state, 'connected');
  });
});

describe('client heart-beat timeout', () => {
  test('a silent client is closed after grace x interval with ERROR heart-beat timeout', async () => {
    const { kit, c } = await beating();
    kit.advance(2_000);
    kit.hub.tick();
    kit.flush();
    assert.equal(c.session.state, 'connected', 'exactly grace x interval is still alive');
    kit.advance(1);
    kit.hub.tick();
    kit.flush();
    const e = c.take().at(-1);
    assert.equal(e?.command, 'ERROR');
    assert.equal(e.h('message'), 'heart-beat timeout');
    assert.match(e.text, /1000 ms/);
    assert.equal(c.transport.ended, true);
    assert.equal(kit.hub.metrics.heartbeatTimeouts, 1);
  });

  test('any bytes count as life: EOLs, frames, even part of a frame', async () => {
    const { kit, c } = await beating();
    const feeds = [() => c.raw('\n'), () => c.send('SEND', { destination: '/topic/x' }, 'x'), () => c.raw('SE')];
    for (const feed of feeds) {
      kit.advance(1_900);
      feed();
      kit.hub.tick();
      kit.flush();
      assert.equal(c.session.state, 'connected');
    }
    kit.advance(2_001);
    kit.hub.tick();
    assert.equal(c.session.state, 'closing');
  });

  test('the expected interval is max(client cx, server sy)', async () => {
    const kit = await Kit.create({ config });
    const c = kit.connected({ 'accept-version': '1.2', 'heart-beat': '3000,0' });
    assert.equal(c.session.expectEveryMs, 3_000);
    kit.advance(6_000);
    kit.hub.tick();
    assert.equal(c.session.state, 'connected');
    kit.advance(1);
    kit.hub.tick();
    assert.equal(c.session.state, 'closing');
  });

  test('a client that promised no beats (0,x) is never timed out', async () => {
    const { kit, c } = await beating('0,1000');
    kit.advance(3_600_000);
    kit.hub.tick();
    assert.equal(c.session.state, 'connected');
  });
});

describe('connect timeout', () => {
  test('no CONNECT within connectTimeoutMs -> ERROR connect timeout', async () => {
    const kit = await Kit.create({ config: { connectTimeoutMs: 5_000 } });
    const c = kit.open();
    kit.advance(5_000);
    kit.hub.tick();
    kit.flush();
    assert.deepEqual(c.take(), []);
    kit.advance(1);
    kit.hub.tick();
    kit.flush();
    const [e] = c.take();
    assert.equal(e?.h('message'), 'connect timeout');
    assert.match(e.text, /connectTimeoutMs/);
    assert.equal(c.transport.ended, true);
  });

  test('bytes that are not yet a CONNECT do not stop the clock', async () => {
    const kit = await Kit.create({ config: { connectTimeoutMs: 5_000 } });
    const c = kit.open();
    kit.advance(4_000);
    c.raw('CONN');
    kit.advance(1_001);
    kit.hub.tick();
    kit.flush();
    assert.equal(c.take()[0]?.h('message'), 'connect timeout');
  });

  test('a connected session is not subject to it', async () => {
    const kit = await Kit.create({ config: { connectTimeoutMs: 5_000, heartbeatMs: [0, 0] } });
    const c = kit.connected();
    kit.advance(60_000);
    kit.hub.tick();
    assert.equal(c.session.state, 'connected');
  });
});
