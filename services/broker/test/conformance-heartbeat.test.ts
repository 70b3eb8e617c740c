// STOMP 1.2 server checklist, section 2.3 heart-beating (rules #28-#33), against real broker
// processes with short intervals (floor 100 ms) so every case takes about a second.
//
// Timing assertions follow what the broker can guarantee whatever the load:
// - lower bounds are exact: the broker reads the CONNECT after we sent it, so it cannot time a client
//   out earlier than interval x grace after our send time, and it writes its beats at least
//   (interval - one tick) apart, which caps how many can have arrived by a given time;
// - upper bounds (a beat did arrive, the timeout did happen) get a generous window.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closeTime, connectExactly, sendConnect } from './helpers/conformance-kit.js';
import { expectErrorThenClose } from './helpers/expect.js';
import { delay, frame, header, TRANSPORTS, type RawClient } from './helpers/raw-client.js';
import { useBroker } from './helpers/suite.js';

const FLOOR_MS = 100;
/** Hub tick with this floor: min(250, max(10, floor / 4)). The broker beats up to one tick early. */
const TICK_MS = 25;
/** Extra time allowed for anything that must happen (a beat, a timeout) on a loaded machine. */
const SLACK_MS = 2500;
/** How long "nothing happens" cases are watched: several intervals and timeouts of the brokers below. */
const WATCH_MS = 1300;

function env(heartbeat: string, extra: Record<string, string> = {}): Record<string, string> {
  return { STOMPEDE_HEARTBEAT_FLOOR_MS: String(FLOOR_MS), STOMPEDE_HEARTBEAT_MS: heartbeat, ...extra };
}

interface Expectation {
  /** Client heart-beat header. */
  readonly client: string;
  /** server -> client interval, 0 = off. */
  readonly send: number;
  /** client -> server interval, 0 = off. */
  readonly expect: number;
}

/**
 * Connects `c` with `client` heart-beats and checks, from the outside, the negotiated intervals:
 * beats arrive (or not) no faster than `send`, and a silent client is closed (or not) no earlier than
 * `expect` x `grace`.
 */
async function observe(c: RawClient, row: Expectation, offer: string, grace = 2): Promise<void> {
  const closed = closeTime(c);
  const t0 = Date.now();
  const connected = await connectExactly(c, { 'accept-version': '1.2', host: '/', 'heart-beat': row.client });
  assert.equal(header(connected, 'heart-beat'), offer, 'CONNECTED heart-beat is the server offer sx,sy');
  let end: number;
  if (row.expect > 0) {
    const e = await expectErrorThenClose(c, 'heart-beat timeout', row.expect * grace + SLACK_MS);
    assert.match(Buffer.from(e.body).toString(), new RegExp(`interval is ${row.expect} ms`));
    end = await closed;
    const silent = end - t0;
    assert.ok(silent >= row.expect * grace - 5, `closed after ${silent} ms of silence, before ${grace} x ${row.expect} ms`);
    assert.ok(silent <= row.expect * grace + SLACK_MS, `closed only after ${silent} ms (interval ${row.expect} ms)`);
  } else {
    await delay(WATCH_MS);
    assert.equal(c.closed, false, 'a client that promised no beats is never timed out');
    end = Date.now();
  }
  if (row.send > 0) {
    // Beats that arrived while the connection was open.
    const beats = c.beatTimes.filter((t) => t <= end).length;
    const most = Math.floor((end - t0) / (row.send - TICK_MS)) + 1;
    assert.ok(beats <= most, `${beats} beats in ${end - t0} ms: faster than every ${row.send} ms`);
    assert.ok(beats >= 1, `no beat in ${end - t0} ms (interval ${row.send} ms)`);
    if (row.expect === 0) assert.ok(beats >= 2, `only ${beats} beats in ${end - t0} ms (interval ${row.send} ms)`);
  } else {
    assert.equal(c.beats, 0, 'no server beats when that direction is off');
  }
  if (row.expect === 0) {
    // Still fully alive.
    await c.sendWithReceipt('SUBSCRIBE', { id: 'alive', destination: '/topic/hb-alive' });
  }
}

describe('heart-beats: server offer 200,200, ceiling 400', { concurrency: true }, () => {
  const { openRaw, connectRaw } = useBroker({ env: env('200,200', { STOMPEDE_HEARTBEAT_CEILING_MS: '400' }) });

  test('#28 malformed heart-beat values give ERROR invalid heart-beat, then close', async () => {
    const bad = ['abc', '1', '-1,0', '0,-1', '1,2,3', '', ',', '1,', ',1', ' 1,1', '1, 1', '1.5,0', '0x10,0', '1e3,0', '99999999999,0', 'abc,def'];
    await Promise.all(
      bad.map(async (value) => {
        for (const kind of TRANSPORTS) {
          const c = await openRaw(kind);
          sendConnect(c, { 'accept-version': '1.2', host: '/', 'heart-beat': value });
          const e = await expectErrorThenClose(c, 'invalid heart-beat');
          assert.ok(Buffer.from(e.body).toString().includes(JSON.stringify(value)), `the body quotes the value ${JSON.stringify(value)}`);
          assert.deepEqual(c.frames.map((f) => f.command), ['ERROR'], 'no CONNECTED');
        }
      }),
    );
  });

  test('#28 malformed heart-beat is refused in STOMP 1.1 too (STOMP frame)', async () => {
    const c = await openRaw('tcp');
    c.send(frame('STOMP', { 'accept-version': '1.1', host: '/', 'heart-beat': '10;10' }));
    await expectErrorThenClose(c, 'invalid heart-beat');
  });

  test('#28 two non-negative integers are accepted, leading zeros included', async () => {
    for (const value of ['0,0', '00,000', '0500,0', '2147483647,0']) {
      const c = await openRaw('tcp');
      const f = await connectExactly(c, { 'accept-version': '1.2', host: '/', 'heart-beat': value });
      assert.equal(header(f, 'heart-beat'), '200,200');
    }
  });

  test('#29 no heart-beat header means 0,0: no beats and no timeout for silence', async () => {
    await Promise.all(
      TRANSPORTS.map(async (kind) => {
        const c = await openRaw(kind);
        const f = await connectExactly(c, { 'accept-version': '1.2', host: '/' });
        assert.equal(header(f, 'version'), '1.2');
        assert.equal(header(f, 'heart-beat'), '200,200', 'the server still states its offer');
        // Several server intervals (200) and several would-be timeouts (2 x 200).
        await delay(WATCH_MS);
        assert.equal(c.beats, 0, `${kind}: no EOL beats`);
        assert.equal(c.closed, false, `${kind}: not closed for silence`);
        assert.deepEqual(c.frames.map((x) => x.command), ['CONNECTED']);
        await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: '/topic/hb29' });
      }),
    );
  });

  test('#29 STOMP 1.0 sessions have no heart-beating: header ignored, none offered, no timeout', async () => {
    const c = await openRaw('tcp');
    // No accept-version: STOMP 1.0, where heart-beat is not part of the protocol (even a bad one).
    const f = await connectExactly(c, { 'heart-beat': '100,100' });
    assert.equal(header(f, 'version'), '1.0');
    assert.equal(header(f, 'heart-beat'), undefined, 'no heart-beat in a 1.0 CONNECTED');
    await delay(WATCH_MS);
    assert.equal(c.beats, 0);
    assert.equal(c.closed, false);
    const g = await openRaw('tcp');
    const f2 = await connectExactly(g, { 'heart-beat': 'abc' });
    assert.equal(header(f2, 'version'), '1.0');
  });

  // Server sx,sy = 200,200. server->client = max(200, cy) capped at the 400 ceiling, off if cy = 0;
  // client->server = max(cx, 200), off if cx = 0.
  test('#30 cx,cy = 0,0: both directions off', async () => observe(await openRaw('tcp'), { client: '0,0', send: 0, expect: 0 }, '200,200'));
  test('#30 cx,cy = 0,100: server beats every max(200,100) = 200, no client beats expected', async () =>
    observe(await openRaw('tcp'), { client: '0,100', send: 200, expect: 0 }, '200,200'));
  test('#30 cx,cy = 0,300: server beats every max(200,300) = 300', async () => observe(await openRaw('tcp'), { client: '0,300', send: 300, expect: 0 }, '200,200'));
  test('#30 cx,cy = 0,5000: server beats at the 400 ms ceiling, not every 5000', async () =>
    observe(await openRaw('tcp'), { client: '0,5000', send: 400, expect: 0 }, '200,200'));
  test('#30 cx,cy = 100,0: client expected every max(100,200) = 200, no server beats', async () =>
    observe(await openRaw('tcp'), { client: '100,0', send: 0, expect: 200 }, '200,200'));
  test('#30 cx,cy = 350,0: client expected every max(350,200) = 350', async () => observe(await openRaw('tcp'), { client: '350,0', send: 0, expect: 350 }, '200,200'));
  test('#30 cx,cy = 300,250: both directions, 250 and 300', async () => observe(await openRaw('tcp'), { client: '300,250', send: 250, expect: 300 }, '200,200'));

  for (const kind of TRANSPORTS) {
    test(`#31 idle subscriber over ${kind} gets an EOL at least every negotiated interval`, async () => {
      const n = 200;
      const c = await openRaw(kind);
      const t0 = Date.now();
      await c.connect({ 'heart-beat': `0,${n}` });
      await c.sendWithReceipt('SUBSCRIBE', { id: 'idle', destination: '/topic/hb31-idle' });
      const subscribed = Date.now();
      await delay(1500);
      const end = Date.now();
      const times = c.beatTimes.filter((t) => t >= subscribed);
      assert.ok(times.length >= 3, `only ${times.length} beats in ${end - subscribed} ms at ${n} ms`);
      assert.ok(c.beats <= Math.floor((end - t0) / (n - TICK_MS)) + 1, `${c.beats} beats: faster than every ${n} ms`);
      // No silence much longer than n: from the subscription to the first beat, between beats, and
      // from the last beat to now.
      const points = [subscribed, ...times, end];
      const gaps = points.slice(1).map((t, i) => t - points[i]!);
      assert.ok(Math.max(...gaps) <= n + 1000, `silent for ${Math.max(...gaps)} ms at a ${n} ms interval: ${gaps.join(',')}`);
      assert.equal(c.frames.length, 2, 'only CONNECTED and RECEIPT: beats are bare EOLs, not frames');
    });
  }

  test('#32 a client that sends frames but never an EOL is not timed out', async () => {
    const c = await openRaw('tcp');
    const closed = closeTime(c);
    await c.connect({ 'heart-beat': '300,0' }); // expected every 300 ms, dead after 600
    let last = Date.now();
    let n = 0;
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      // A frame without receipt and without any EOL before or after it.
      c.send(frame('SEND', { destination: '/topic/hb32' }, `tick ${n++}`));
      last = Date.now();
      await delay(60);
    }
    assert.equal(c.closed, false, 'closed although frames kept arriving');
    assert.equal(c.frames.filter((f) => f.command === 'ERROR').length, 0);
    // Proof that the timeout was armed: silence now gets the connection closed.
    await expectErrorThenClose(c, 'heart-beat timeout', 600 + SLACK_MS);
    const end = await closed;
    assert.ok(end - last >= 600 - 5, `closed ${end - last} ms after the last frame`);
    assert.ok(n >= 10);
  });

  test('#32 EOL heart-beats alone keep a client alive, over both transports', async () => {
    await Promise.all(
      TRANSPORTS.map(async (kind) => {
        const c = await connectRaw(kind, { 'heart-beat': '300,0' });
        const until = Date.now() + 1500;
        while (Date.now() < until) {
          c.send('\n');
          await delay(60);
        }
        assert.equal(c.closed, false, `${kind}: closed although EOLs kept arriving`);
        await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: '/topic/hb32-eol' });
      }),
    );
  });

  test('#33 a silent client is kept alive for grace x interval, then gets ERROR heart-beat timeout and is closed', async () => {
    await Promise.all(
      TRANSPORTS.map(async (kind) => {
        const c = await openRaw(kind);
        const closed = closeTime(c);
        const t0 = Date.now();
        const f = await c.connect({ 'heart-beat': '300,0' });
        assert.equal(header(f, 'heart-beat'), '200,200');
        const e = await expectErrorThenClose(c, 'heart-beat timeout', 600 + SLACK_MS);
        assert.match(Buffer.from(e.body).toString(), /interval is 300 ms and the grace 2x/);
        const silent = (await closed) - t0;
        // Never at n (300) plus jitter: only after 2 x n.
        assert.ok(silent >= 600 - 5, `${kind}: closed after ${silent} ms, before 2 x 300`);
        assert.ok(silent <= 600 + SLACK_MS, `${kind}: closed only after ${silent} ms`);
      }),
    );
  });

  test('#33 the silence is counted from the last data received, not from CONNECT', async () => {
    const c = await openRaw('tcp');
    const closed = closeTime(c);
    await c.connect({ 'heart-beat': '300,0' });
    for (let i = 0; i < 5; i++) {
      await delay(150);
      c.send('\r\n');
    }
    const lastBeat = Date.now();
    await expectErrorThenClose(c, 'heart-beat timeout', 600 + SLACK_MS);
    const silent = (await closed) - lastBeat;
    assert.ok(silent >= 600 - 5, `closed ${silent} ms after the last beat`);
  });
});

describe('heart-beats: server offer 0,50 (raised to the 100 ms floor)', { concurrency: true }, () => {
  const { openRaw } = useBroker({ env: env('0,50') });

  test('#30 sx = 0: no server beats whatever the client asks', async () => observe(await openRaw('tcp'), { client: '0,100', send: 0, expect: 0 }, '0,100'));
  test('#30 sy = 50 below the floor: client expected every max(50, 100) = 100', async () =>
    observe(await openRaw('tcp'), { client: '50,0', send: 0, expect: 100 }, '0,100'));
});

describe('heart-beats: server offer 50,0 (raised to the 100 ms floor)', { concurrency: true }, () => {
  const { openRaw } = useBroker({ env: env('50,0') });

  test('#30 sy = 0: the client is never expected to beat', async () => observe(await openRaw('tcp'), { client: '100,0', send: 0, expect: 0 }, '100,0'));
  test('#30 sx = 50 below the floor: server beats every max(100, 150) = 150', async () =>
    observe(await openRaw('tcp'), { client: '0,150', send: 150, expect: 0 }, '100,0'));
});

describe('heart-beats: grace 3', () => {
  const { openRaw } = useBroker({ env: env('200,200', { STOMPEDE_HEARTBEAT_GRACE: '3' }) });

  test('#33 the grace multiplier is configurable: 3 x 200 ms instead of 2 x', async () =>
    observe(await openRaw('tcp'), { client: '200,0', send: 0, expect: 200 }, '200,200', 3));
});
