// Robustness: subscribers that stop reading (raw TCP `socket.pause()`, raw WebSocket `ws.pause()`,
// which pauses the socket under it) while a publisher floods them, with a small
// maxPendingOutboundBytes so the limits trip quickly.
// - auto-ack topic, policy disconnect: the slow one is cut (TCP: ERROR and counted; WebSocket: uWS
//   closeOnBackpressureLimit, seen as the session going away) and a healthy subscriber of the same
//   topic still gets every message in order;
// - auto-ack topic, policy drop: the slow one stays connected and misses messages (counted);
// - client-ack topic and queue subscribers lose nothing: the broker holds deliveries back (credit)
//   and resumes them once the reader reads again; a client-ack topic subscriber that falls behind
//   past the bound gets ERROR after a gap-free prefix, never a silent gap;
// - the broker's memory stays bounded while a reader is paused.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Client } from '@stomp/stompjs';
import { messages, unique } from './helpers/conformance-kit.js';
import { metric, rssBytes } from './helpers/metrics.js';
import { bodyText, frame, header, TRANSPORTS, type RawClient } from './helpers/raw-client.js';
import { useHealthyPair } from './helpers/robustness.js';
import { Inbox, subscribed } from './helpers/stompjs.js';
import { useBroker, type BrokerSuite } from './helpers/suite.js';

const MAX_PENDING = 262_144;
const BODY_BYTES = 4096;
/** Far more than the kernel buffers of one loopback connection (a few MiB) plus MAX_PENDING. */
const FLOOD_CAP = 6000;

const numbered = (i: number, bytes = BODY_BYTES): string => String(i).padEnd(bytes, '.');
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const numbersOf = (c: RawClient): number[] => messages(c).map((f) => Number.parseInt(bodyText(f), 10));

/**
 * Publishes numbered messages from..to-1 in batches, the last of each batch with a receipt (so the
 * broker has routed the batch when it returns). `afterBatch(next)` may stop the flood early by
 * returning true. Returns the number of the next message.
 */
async function flood(
  pub: RawClient,
  destination: string,
  from: number,
  to: number,
  batch: number,
  afterBatch: (next: number) => Promise<boolean> = async () => false,
  bodyBytes = BODY_BYTES,
): Promise<number> {
  let next = from;
  while (next < to) {
    const end = Math.min(to, next + batch);
    for (; next < end - 1; next++) pub.send(frame('SEND', { destination }, numbered(next, bodyBytes)));
    await pub.sendWithReceipt('SEND', { destination }, numbered(next++, bodyBytes), 30_000);
    if (await afterBatch(next)) break;
  }
  return next;
}

/** Waits until `c` has received `n` MESSAGE frames (or closed, or the time is up). */
async function untilMessages(c: RawClient, n: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (messages(c).length < n && !c.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/** A stompjs subscriber on the same topic that reads as fast as it can. */
async function healthySubscriber(suite: BrokerSuite, destination: string): Promise<{ client: Client; inbox: Inbox; numbers: () => number[] }> {
  const client = await suite.stompjs();
  const inbox = new Inbox();
  await subscribed(client, destination, inbox.push);
  return { client, inbox, numbers: () => inbox.bodies.map((b) => Number.parseInt(b, 10)) };
}

describe('slow consumers with slowConsumerPolicy=disconnect (default)', () => {
  const suite = useBroker({ env: { STOMPEDE_MAX_PENDING_OUTBOUND_BYTES: String(MAX_PENDING), STOMPEDE_LOG_LEVEL: 'info' } });
  const { broker, connectRaw, subscriber } = suite;
  const pair = useHealthyPair(suite, '/topic/slow-healthy-pair');

  for (const kind of TRANSPORTS) {
    test(`an auto-ack ${kind} subscriber that stops reading is disconnected; a healthy one misses nothing`, async () => {
      const dest = unique('/topic/slow-cut-');
      const slow = await subscriber(kind, dest);
      const healthy = await healthySubscriber(suite, dest);
      const pub = await connectRaw('tcp');
      const counted = (): Promise<number> => metric(broker(), 'stompede_slow_consumer_disconnects_total');
      const connections = (): Promise<number> => metric(broker(), 'stompede_connections');
      const [counted0, open] = [await counted(), await connections()];
      slow.pause();
      let next = await flood(pub, dest, 0, FLOOD_CAP, 32, async (n) => {
        // Keep the healthy reader close behind, so only the paused one can fall behind.
        await healthy.inbox.until(n - 64, 30_000);
        return (await counted()) > counted0 || (await connections()) < open;
      });
      // TCP: the session sees its output pass the limit. WebSocket (native group): the group looks
      // at its members' backlogs as it publishes, before uWS would cut the socket silently.
      assert.ok((await counted()) > counted0, `no slow-consumer disconnect counted after ${next} messages of ${BODY_BYTES} bytes`);
      slow.resume();
      next = await flood(pub, dest, next, next + 100, 25);
      await healthy.inbox.until(next, 30_000);
      assert.deepEqual(healthy.numbers(), range(next), 'the healthy subscriber got every message in order');

      await slow.waitClosed(30_000);
      const got = numbersOf(slow);
      assert.ok(got.length < next, 'the slow subscriber was cut before the end of the flood');
      assert.deepEqual(got, range(got.length), 'what the slow subscriber got is a gap-free prefix');
      if (kind === 'tcp') {
        const last = slow.frames.at(-1)!;
        assert.equal(last.command, 'ERROR');
        assert.equal(header(last, 'message'), 'slow consumer');
        assert.match(bodyText(last), /maxPendingOutboundBytes/);
      }
      await pair().exchange(10);
      await healthy.client.deactivate();
      pub.close();
    });

    test(`a client-ack topic subscriber over ${kind} that stops reading is held back (credit) and loses nothing`, async () => {
      const dest = unique('/topic/slow-acked-');
      const slow = await subscriber(kind, dest, { ack: 'client' });
      const pub = await connectRaw('tcp');
      const delivered = (): Promise<number> => metric(broker(), 'stompede_messages_delivered_total');
      const d0 = await delivered();
      slow.pause();
      // Flood until the broker holds messages back instead of writing them, then a little more: the
      // held messages stay well inside maxPendingOutboundBytes, the bound for held topic messages.
      let heldSince = -1;
      const next = await flood(pub, dest, 0, FLOOD_CAP, 8, async (n) => {
        if (heldSince < 0 && (await delivered()) - d0 < n) heldSince = n;
        return heldSince >= 0 && n - heldSince >= 16;
      });
      assert.ok(heldSince >= 0, `the broker never held deliveries back in ${next} messages`);
      assert.ok((await delivered()) - d0 < next, 'deliveries are paused while the subscriber does not read');
      await pair().exchange(10);
      assert.equal(slow.closed, false);

      slow.resume();
      await untilMessages(slow, next);
      assert.deepEqual(numbersOf(slow), range(next), 'every message arrived, in order');
      assert.equal(slow.frames.some((f) => f.command === 'ERROR'), false);
      const last = messages(slow).at(-1)!;
      await slow.sendWithReceipt('ACK', { id: header(last, 'ack')! }, '', 30_000);
      await pair().exchange(5);
      slow.close();
      pub.close();
    });

    test(`a client-ack topic subscriber over ${kind} that falls behind past its bound is told (ERROR), never silently skipped`, async () => {
      const dest = unique('/topic/slow-acked-over-');
      const slow = await subscriber(kind, dest, { ack: 'client' });
      const pub = await connectRaw('tcp');
      const counted = (): Promise<number> => metric(broker(), 'stompede_slow_consumer_disconnects_total');
      const counted0 = await counted();
      slow.pause();
      // Topic messages are not durable: once the held ones pass maxPendingOutboundBytes the
      // subscription ends, with an ERROR the client will read, instead of losing messages quietly.
      const next = await flood(pub, dest, 0, FLOOD_CAP, 16, async () => (await counted()) > counted0);
      assert.ok((await counted()) > counted0, `no slow-consumer disconnect after ${next} messages`);
      await pair().exchange(10);
      slow.resume();
      await slow.waitClosed(30_000);
      const got = numbersOf(slow);
      assert.ok(got.length < next);
      assert.deepEqual(got, range(got.length), 'what it got is a gap-free prefix');
      const last = slow.frames.at(-1)!;
      assert.equal(last.command, 'ERROR');
      assert.equal(header(last, 'message'), 'slow consumer');
      await pair().exchange(5);
      pub.close();
    });

    test(`a queue subscriber over ${kind} that stops reading gets everything once it reads again`, async () => {
      const dest = unique('/queue/slow-');
      const slow = await subscriber(kind, dest);
      const pub = await connectRaw('tcp');
      slow.pause();
      const n = 2500; // ~10 MiB: more than the socket buffers can hide
      await flood(pub, dest, 0, n, 50);
      assert.ok((await metric(broker(), 'stompede_queued_messages')) > 0, 'the queue holds what the paused consumer cannot take');
      await pair().exchange(10);
      assert.equal(slow.closed, false);

      slow.resume();
      await untilMessages(slow, n);
      assert.deepEqual(numbersOf(slow), range(n), 'every message arrived, in order');
      assert.equal(slow.closed, false);
      assert.equal(await metric(broker(), 'stompede_queued_messages'), 0);
      await pair().exchange(5);
      slow.close();
      pub.close();
    });
  }
});

describe('slow consumers with slowConsumerPolicy=drop', () => {
  const suite = useBroker({
    env: { STOMPEDE_MAX_PENDING_OUTBOUND_BYTES: String(MAX_PENDING), STOMPEDE_SLOW_CONSUMER_POLICY: 'drop', STOMPEDE_LOG_LEVEL: 'info' },
  });
  const { broker, connectRaw, subscriber } = suite;
  const pair = useHealthyPair(suite, '/topic/slow-drop-healthy-pair');

  for (const kind of TRANSPORTS) {
    test(`an auto-ack ${kind} subscriber that stops reading stays connected and misses messages (counted)`, async () => {
      const dest = unique('/topic/slow-drop-');
      const slow = await subscriber(kind, dest);
      const healthy = await healthySubscriber(suite, dest);
      const pub = await connectRaw('tcp');
      const drops0 = await metric(broker(), 'stompede_deliveries_dropped_total', { reason: 'slow_consumer' });
      slow.pause();
      let next = await flood(pub, dest, 0, FLOOD_CAP, 32, async (n) => {
        await healthy.inbox.until(n - 64, 30_000);
        return (await metric(broker(), 'stompede_deliveries_dropped_total', { reason: 'slow_consumer' })) > drops0;
      });
      assert.ok((await metric(broker(), 'stompede_deliveries_dropped_total', { reason: 'slow_consumer' })) > drops0, `nothing dropped in ${next} messages`);
      next = await flood(pub, dest, next, next + 100, 25);
      await healthy.inbox.until(next, 30_000);
      assert.deepEqual(healthy.numbers(), range(next), 'the healthy subscriber got every message in order');

      slow.resume();
      // Still subscribed and connected: once it has caught up, messages reach it again. (Those
      // published while its backlog is still over the limit are dropped too, so keep trying.)
      const deadline = Date.now() + 30_000;
      let caughtUp = false;
      while (!caughtUp && Date.now() < deadline) {
        const marker = next++;
        await pub.sendWithReceipt('SEND', { destination: dest }, numbered(marker));
        caughtUp = await slow.waitFor((f) => f.command === 'MESSAGE' && Number.parseInt(bodyText(f), 10) === marker, 500).then(() => true, () => false);
      }
      assert.ok(caughtUp, 'the slow subscriber never received messages again after it resumed reading');
      await healthy.inbox.until(next, 30_000);
      assert.deepEqual(healthy.numbers(), range(next));
      await slow.sendWithReceipt('SEND', { destination: '/topic/slow-drop-elsewhere' }, 'still connected', 30_000);
      const got = numbersOf(slow);
      assert.ok(got.length < next, 'some messages were dropped for the slow subscriber');
      assert.ok(got.every((v, i) => i === 0 || v > got[i - 1]!), 'what it got is in publish order');
      assert.equal(slow.closed, false);
      assert.equal(slow.frames.some((f) => f.command === 'ERROR'), false);
      await pair().exchange(10);
      slow.close();
      pub.close();
      await healthy.client.deactivate();
    });
  }

  test('the broker RSS stays bounded while a paused reader is flooded', async () => {
    const dest = unique('/topic/slow-rss-');
    const slow = await subscriber('tcp', dest);
    const pub = await connectRaw('tcp');
    slow.pause();
    const bodyBytes = 64 * 1024;
    const total = 4096; // 256 MiB through the topic
    await flood(pub, dest, 0, 256, 16, async () => false, bodyBytes); // warm up
    const base = rssBytes(broker().pid);
    let peak = base;
    await flood(pub, dest, 256, total, 16, async () => {
      peak = Math.max(peak, rssBytes(broker().pid));
      return false;
    }, bodyBytes);
    const growth = peak - base;
    // Buffering the flood for the paused reader would take 256 MiB; a bounded broker needs a few.
    assert.ok(growth < 128 * 1024 * 1024, `RSS grew by ${Math.round(growth / 1048576)} MiB (from ${Math.round(base / 1048576)} MiB)`);
    assert.equal(slow.closed, false);
    await pair().exchange(5);
    slow.close();
    pub.close();
  });
});
