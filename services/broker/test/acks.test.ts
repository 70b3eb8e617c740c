// Acknowledgement end to end: client vs client-individual, redelivery after a lost connection,
// NACK with and without requeue, dead-lettering and the delivery limit, NACK on a topic.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Client, IMessage } from '@stomp/stompjs';
import { metric } from './helpers/metrics.js';
import { frame, header, type RawFrame } from './helpers/raw-client.js';
import { Inbox, publishAll, range, receipt, subscribed } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';

const LONG = 20_000;
const DEAD = '/queue/dead';
const MAX_DELIVERIES = 3;

describe('acknowledgements', () => {
  const { broker, connectRaw, stompjs } = useBroker({
    env: { STOMPEDE_DEAD_LETTER_DESTINATION: DEAD, STOMPEDE_MAX_DELIVERIES: String(MAX_DELIVERIES) },
  });
  let producer: Client;
  before(async () => {
    producer = await stompjs();
  });
  /** ACK or NACK through stompjs and wait for the broker to have processed it. */
  const settle = async (client: Client, m: IMessage, how: 'ack' | 'nack', headers: Record<string, string> = {}): Promise<void> => {
    const id = `settle-${Math.random().toString(36).slice(2)}`;
    m[how]({ ...headers, receipt: id });
    await receipt(client, id, LONG);
  };
  /** A fresh consumer of `q`; resolves with what it got once `n` messages arrived. */
  const drain = async (q: string, n: number, headers: Record<string, string> = {}): Promise<{ client: Client; inbox: Inbox }> => {
    const client = await stompjs();
    const inbox = new Inbox();
    await subscribed(client, q, inbox.push, headers);
    await inbox.until(n, LONG);
    return { client, inbox };
  };
  /** Publishes a fence and returns the consumer's messages once it arrived: nothing else is on its way. */
  const fenced = async (q: string, inbox: Inbox): Promise<IMessage[]> => {
    const n = inbox.messages.length;
    await publishAll(producer, q, ['fence']);
    await inbox.until(n + 1, LONG);
    return inbox.messages;
  };

  /**
   * A consumer in `ack` mode receives m-0..m-4 from `q`, ACKs m-2 and disconnects; a new consumer
   * then receives the `back` messages that came back, and a fence. Returns both deliveries.
   */
  const ackThirdOfFive = async (q: string, ack: string, back: number): Promise<{ got: IMessage[]; redone: IMessage[] }> => {
    const { client, inbox } = await drain(q, 0, { ack });
    await publishAll(producer, q, range(5));
    const got = await inbox.until(5, LONG);
    await settle(client, got[2]!, 'ack');
    await client.deactivate();
    const next = await drain(q, back);
    return { got, redone: await fenced(q, next.inbox) };
  };

  test('client mode: an ACK settles that message and every earlier one', async () => {
    const { redone } = await ackThirdOfFive('/queue/ack-client', 'client', 2);
    assert.deepEqual(redone.map((m) => m.body), ['m-3', 'm-4', 'fence']);
    assert.deepEqual(redone.map((m) => m.headers['redelivered']), ['true', 'true', undefined]);
    assert.deepEqual(redone.map((m) => m.headers['x-delivery-count']), ['1', '1', undefined]);
  });

  test('client-individual mode: an ACK settles only that message', async () => {
    const { got, redone } = await ackThirdOfFive('/queue/ack-individual', 'client-individual', 4);
    assert.deepEqual(redone.map((m) => m.body), ['m-0', 'm-1', 'm-3', 'm-4', 'fence']);
    assert.deepEqual(redone.slice(0, 4).map((m) => m.headers['message-id']), [0, 1, 3, 4].map((i) => got[i]!.headers['message-id']));
  });

  test('ACK of a message a cumulative ACK already settled gets ERROR unknown ack id', async () => {
    const c = await connectRaw('tcp');
    await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: '/queue/ack-twice', ack: 'client' });
    await publishAll(producer, '/queue/ack-twice', range(3));
    const msgs: RawFrame[] = [];
    for (let i = 0; i < 3; i++) msgs.push(await c.waitFor((f) => f.command === 'MESSAGE' && !msgs.includes(f), LONG));
    await c.sendWithReceipt('ACK', { id: header(msgs[1]!, 'ack')! });
    c.send(frame('ACK', { id: header(msgs[0]!, 'ack')!, receipt: 'again' }));
    const e = await c.waitForCommand('ERROR', LONG);
    assert.equal(header(e, 'message'), 'unknown ack id');
    assert.equal(header(e, 'receipt-id'), 'again');
    await c.waitClosed(LONG);
    // m-2 was never acknowledged: it is back in the queue.
    const next = await drain('/queue/ack-twice', 1);
    assert.equal(next.inbox.messages[0]!.body, 'm-2');
    assert.equal(next.inbox.messages[0]!.headers['redelivered'], 'true');
  });

  test('unacked messages come back after each lost connection, counting earlier deliveries', async () => {
    const q = '/queue/ack-lost';
    await publishAll(producer, q, ['work'], { 'x-job': '42' });
    const seen: IMessage[] = [];
    for (let round = 0; round < 3; round++) {
      const { client, inbox } = await drain(q, 1, { ack: 'client-individual' });
      seen.push(inbox.messages[0]!);
      if (round < 2) client.forceDisconnect(); // no DISCONNECT: the socket just goes away
      else {
        await settle(client, inbox.messages[0]!, 'ack');
        await client.deactivate();
      }
    }
    assert.deepEqual(seen.map((m) => m.body), ['work', 'work', 'work']);
    assert.deepEqual(seen.map((m) => m.headers['redelivered']), [undefined, 'true', 'true']);
    assert.deepEqual(seen.map((m) => m.headers['x-delivery-count']), [undefined, '1', '2']);
    assert.deepEqual(seen.map((m) => m.headers['x-job']), ['42', '42', '42']);
    assert.equal(new Set(seen.map((m) => m.headers['message-id'])).size, 1, 'same message-id each time');
    const last = await drain(q, 0);
    assert.deepEqual((await fenced(q, last.inbox)).map((m) => m.body), ['fence'], 'acked: not delivered again');
  });

  test('NACK requeues by default: redelivered at once, ahead of later messages', async () => {
    const q = '/queue/nack-requeue';
    const { client, inbox } = await drain(q, 0, { ack: 'client-individual' });
    await publishAll(producer, q, ['first', 'second']);
    const got = await inbox.until(2, LONG);
    const redelivered = await metric(broker(), 'stompede_messages_redelivered_total');
    await settle(client, got[0]!, 'nack');
    const again = (await inbox.until(3, LONG))[2]!;
    assert.equal(again.body, 'first');
    assert.equal(again.headers['redelivered'], 'true');
    assert.equal(again.headers['x-delivery-count'], '1');
    assert.equal(again.headers['message-id'], got[0]!.headers['message-id']);
    assert.equal(await metric(broker(), 'stompede_messages_redelivered_total'), redelivered + 1);
    await settle(client, again, 'ack');
    await settle(client, got[1]!, 'ack');
  });

  test('client mode NACK covers every earlier unsettled message and keeps their order', async () => {
    const q = '/queue/nack-client';
    const { client, inbox } = await drain(q, 0, { ack: 'client', 'prefetch-count': '3' });
    await publishAll(producer, q, range(4));
    const got = await inbox.until(3, LONG);
    await settle(client, got[1]!, 'nack');
    const all = await inbox.until(5, LONG);
    assert.deepEqual(all.map((m) => m.body), ['m-0', 'm-1', 'm-2', 'm-0', 'm-1']);
    assert.deepEqual(all.slice(3).map((m) => m.headers['redelivered']), ['true', 'true']);
    await settle(client, all[4]!, 'ack'); // settles m-2 (first delivery) and both redeliveries
    const rest = await inbox.until(6, LONG);
    assert.equal(rest[5]!.body, 'm-3');
    await settle(client, rest[5]!, 'ack');
  });

  test('NACK requeue:false dead-letters the message with its origin', async () => {
    const q = '/queue/nack-reject';
    const { client, inbox } = await drain(q, 0, { ack: 'client-individual' });
    producer.publish({ destination: q, body: 'poison', headers: { 'x-app': 'billing', 'content-type': 'text/plain' } });
    const [m] = await inbox.until(1, LONG);
    const dead = await drain(DEAD, 0);
    await settle(client, m!, 'nack', { requeue: 'false' });
    const [d] = await dead.inbox.until(1, LONG);
    assert.equal(d!.body, 'poison');
    assert.equal(d!.headers['destination'], DEAD);
    assert.equal(d!.headers['x-death-reason'], 'rejected');
    assert.equal(d!.headers['x-original-destination'], q);
    assert.equal(d!.headers['x-original-message-id'], m!.headers['message-id']);
    assert.equal(d!.headers['x-app'], 'billing');
    assert.equal(d!.headers['content-type'], 'text/plain');
    assert.notEqual(d!.headers['message-id'], m!.headers['message-id']);
    assert.deepEqual((await fenced(q, inbox)).map((x) => x.body), ['poison', 'fence'], 'not requeued');
    await settle(client, inbox.messages[1]!, 'ack');
    await dead.client.deactivate();
  });

  test(`the delivery limit (${MAX_DELIVERIES}) dead-letters a message NACKed that many times`, async () => {
    const q = '/queue/nack-limit';
    const dead = await drain(DEAD, 0);
    const client = await stompjs();
    const inbox = new Inbox();
    await subscribed(client, q, (m) => {
      inbox.push(m);
      m[m.body === 'doomed' ? 'nack' : 'ack']();
    }, { ack: 'client-individual' });
    await publishAll(producer, q, ['doomed']);
    const [d] = await dead.inbox.until(1, LONG);
    assert.equal(d!.headers['x-death-reason'], 'delivery-limit');
    assert.equal(d!.headers['x-original-destination'], q);
    const tries = (await fenced(q, inbox)).filter((m) => m.body === 'doomed');
    assert.equal(tries.length, MAX_DELIVERIES);
    assert.deepEqual(tries.map((m) => m.headers['x-delivery-count']), [undefined, '1', '2']);
    assert.equal(d!.headers['x-original-message-id'], tries[0]!.headers['message-id']);
    await dead.client.deactivate();
  });

  test('client-ack topic subscription: NACK redelivers to the same subscription only', async () => {
    const t = '/topic/ack-nack';
    const a = await stompjs();
    const b = await stompjs();
    const inboxA = new Inbox();
    const inboxB = new Inbox();
    await subscribed(a, t, inboxA.push, { ack: 'client-individual' });
    const subB = await subscribed(b, t, inboxB.push, { ack: 'client-individual' });
    await publishAll(producer, t, ['news']);
    const [m] = await inboxA.until(1, LONG);
    await inboxB.until(1, LONG);
    await settle(a, m!, 'nack');
    const again = (await inboxA.until(2, LONG))[1]!;
    assert.equal(again.body, 'news');
    assert.equal(again.headers['subscription'], m!.headers['subscription']);
    assert.equal(again.headers['redelivered'], 'true');
    assert.equal(again.headers['x-delivery-count'], '1');
    assert.equal(again.headers['message-id'], m!.headers['message-id']);
    await settle(a, again, 'ack');
    await settle(b, inboxB.messages[0]!, 'ack');
    await publishAll(producer, t, ['fence']);
    await inboxA.until(3, LONG);
    await inboxB.until(2, LONG);
    assert.deepEqual(inboxB.bodies, ['news', 'fence'], 'the other subscription saw it once');
    assert.deepEqual(inboxA.bodies, ['news', 'news', 'fence']);
    subB.unsubscribe();
  });

  test('topic NACK requeue:false dead-letters too', async () => {
    const t = '/topic/ack-reject';
    const client = await stompjs();
    const inbox = new Inbox();
    await subscribed(client, t, inbox.push, { ack: 'client' });
    const dead = await drain(DEAD, 0);
    await publishAll(producer, t, ['stale']);
    const [m] = await inbox.until(1, LONG);
    await settle(client, m!, 'nack', { requeue: 'false' });
    const [d] = await dead.inbox.until(1, LONG);
    assert.equal(d!.body, 'stale');
    assert.equal(d!.headers['x-death-reason'], 'rejected');
    assert.equal(d!.headers['x-original-destination'], t);
    assert.equal(d!.headers['x-original-message-id'], m!.headers['message-id']);
    await dead.client.deactivate();
  });
});
