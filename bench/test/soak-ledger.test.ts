// The soak's loss accounting (bench/soak/ledger.ts) without a broker: what counts as lost, told,
// duplicated or allowed for topics, queues and churn connections.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChurnSession, churnLoss, QueueLedger, SeqCounts, TopicLedger } from '../soak/ledger.js';

describe('SeqCounts', () => {
  test('counts per number, grows, saturates, refuses numbers below 1', () => {
    const c = new SeqCounts();
    assert.equal(c.add(5000), 1);
    assert.equal(c.add(5000), 2);
    assert.equal(c.get(5000), 2);
    assert.equal(c.get(4999), 0);
    assert.equal(c.get(1e9), 0);
    assert.equal(c.max, 5000);
    for (let i = 0; i < 300; i++) c.add(7);
    assert.equal(c.get(7), 255);
    assert.throws(() => c.add(0), /start at 1/);
  });
});

describe('TopicLedger', () => {
  test('every confirmed number from the first received on must arrive once; unconfirmed ones are free', () => {
    const l = new TopicLedger();
    for (const seq of [1, 2, 3, 5, 6, 7]) l.confirm(0, seq); // 4: the RECEIPT never came
    for (const seq of [2, 3, 4, 6, 7]) l.receive('s', 0, seq); // started at 2; 4 arrived anyway; 5 missing
    const [a] = l.account(['s'], [0]);
    assert.deepEqual(
      { first: a!.first, expected: a!.expected, received: a!.received, silentLoss: a!.silentLoss, toldLoss: a!.toldLoss, duplicates: a!.duplicates, examples: a!.examples },
      { first: 2, expected: 5, received: 5, silentLoss: 1, toldLoss: 0, duplicates: 0, examples: [5] },
    );
  });

  test('numbers inside a told gap are counted apart from silent loss; duplicates are counted', () => {
    const l = new TopicLedger();
    for (let seq = 1; seq <= 10; seq++) l.confirm(1, seq);
    for (const seq of [1, 2, 3, 3, 8, 9, 10]) l.receive('s', 1, seq);
    l.told('s', 1, 4, 6); // the broker said 4..6 were gone; 7 it did not say
    const [a] = l.account(['s'], [1]);
    assert.equal(a!.toldLoss, 3);
    assert.equal(a!.silentLoss, 1);
    assert.deepEqual(a!.examples, [7]);
    assert.equal(a!.duplicates, 1);
  });

  test('a subscriber that got nothing misses everything confirmed; settled() waits for the last confirmed number', () => {
    const l = new TopicLedger();
    l.confirm(0, 1);
    l.confirm(0, 2);
    l.receive('a', 0, 1);
    assert.equal(l.settled(['a'], [0]), false);
    l.receive('a', 0, 2);
    assert.equal(l.settled(['a'], [0]), true);
    assert.equal(l.settled(['a', 'b'], [0]), false);
    const b = l.account(['b'], [0])[0]!;
    assert.equal(b.received, 0);
    assert.equal(b.silentLoss, 2);
  });

  test('a message received beyond the last confirmed one (its RECEIPT lost) is no loss', () => {
    const l = new TopicLedger();
    l.confirm(0, 1);
    l.receive('a', 0, 1);
    l.receive('a', 0, 2);
    const a = l.account(['a'], [0])[0]!;
    assert.equal(a.expected, 1);
    assert.equal(a.received, 2);
    assert.equal(a.silentLoss, 0);
  });
});

describe('QueueLedger', () => {
  test('every confirmed SEND needs exactly one confirmed ACK', () => {
    const l = new QueueLedger();
    for (let seq = 1; seq <= 5; seq++) l.written(0, seq);
    for (const seq of [1, 2, 3, 4]) l.confirm(0, seq); // 5: unconfirmed
    l.deliver(0, 1, false);
    l.nack();
    l.deliver(0, 1, true);
    l.ack(0, 1);
    l.deliver(0, 2, false);
    l.ack(0, 2);
    l.ack(0, 2); // acked again after its ACK was confirmed: a duplicate
    l.deliver(0, 3, false); // delivered, never acked
    l.deliver(0, 5, false);
    l.ack(0, 5); // unconfirmed but acked: fine
    assert.equal(l.settled(), false);
    const a = l.account();
    assert.deepEqual(
      { ...a },
      { confirmedSends: 4, unconfirmedSends: 1, deliveries: 5, redeliveries: 1, nacks: 1, ackedOnce: 2, lost: 2, neverDelivered: 1, duplicates: 1, examples: ['0:3', '0:4'] },
    );
    l.ack(0, 3);
    l.ack(0, 4);
    assert.equal(l.settled(), true);
    assert.equal(l.account().lost, 0);
  });
});

describe('churn sessions', () => {
  test('holes between the first and the last number are loss when the publisher confirmed them', () => {
    const s = new ChurnSession();
    for (const seq of [10, 11, 13, 15]) s.receive(2, seq);
    s.receive(0, 4);
    assert.equal(s.messages, 5);
    assert.deepEqual(s.holes(), [{ publisher: 2, seq: 12 }, { publisher: 2, seq: 14 }]);
    const l = new TopicLedger();
    l.confirm(2, 12); // 14 was never confirmed
    assert.deepEqual(churnLoss(s.holes(), l), [{ publisher: 2, seq: 12 }]);
  });
});
