// Resumable topic subscriptions end to end on one node, the way docs/resume.md tells a
// @stomp/stompjs user to use them: keep the message-id of the last MESSAGE, and on every
// (re)connect subscribe with x-resume-after set to it. What was published while the client was
// away arrives exactly once and in order, then live messages; if history was too short, the first
// MESSAGE says so with x-resume-gap:true.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Client, IMessage } from '@stomp/stompjs';
import { bodyText } from './helpers/raw-client.js';
import { expectRefused } from './helpers/expect.js';
import { Inbox, publishAll, range, receipt } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';

let receipts = 0;

/**
 * A subscriber in the documented shape: it remembers the last message-id and, on every connect
 * (onConnect), subscribes again from there. Resolves once the first subscription is in place;
 * `reconnect()` resolves once the subscription made after reconnecting is.
 */
async function resumingSubscriber(open: () => Promise<Client>, destination: string, inbox: Inbox): Promise<{ client: Client; reconnect(): Promise<void> }> {
  let lastId: string | undefined;
  let onSubscribed: ((done: Promise<void>) => void) | undefined;
  const client = await open();
  const subscribe = (): Promise<void> => {
    const id = `resume-${++receipts}`;
    const headers: Record<string, string> = { receipt: id };
    if (lastId !== undefined) headers['x-resume-after'] = lastId;
    const done = receipt(client, id);
    client.subscribe(destination, (m: IMessage) => {
      lastId = m.headers['message-id'];
      inbox.push(m);
    }, headers);
    return done;
  };
  client.onConnect = () => onSubscribed?.(subscribe());
  await subscribe();
  return {
    client,
    reconnect: () => new Promise<void>((resolve) => {
      onSubscribed = resolve;
      client.activate();
    }),
  };
}

/** Waits for `sentinel` to arrive, so that anything delivered before it (duplicates too) is in. */
async function untilBody(inbox: Inbox, sentinel: string, timeoutMs = 10_000): Promise<string[]> {
  const start = Date.now();
  while (!inbox.bodies.includes(sentinel)) {
    if (Date.now() - start > timeoutMs) throw new Error(`no ${sentinel}; got ${inbox.bodies.join(',')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return inbox.bodies;
}

describe('resumable subscriptions (x-resume-after)', () => {
  // Long history for /topic/, a short one for /topic/short.: history length is set per prefix.
  const { broker, stompjs } = useBroker({ env: { STOMPEDE_HISTORY_MESSAGES: '/topic/=1000,/topic/short.=5' } });

  test('a client that reconnects gets exactly what it missed, then live messages', async () => {
    const destination = '/topic/resume.prices';
    const pub = await stompjs();
    const inbox = new Inbox();
    const sub = await resumingSubscriber(stompjs, destination, inbox);
    await publishAll(pub, destination, range(5));
    await inbox.until(5);

    await sub.client.deactivate();
    await publishAll(pub, destination, range(5, 'missed-'));
    await sub.reconnect(); // onConnect subscribes again, resuming after the last message seen
    await publishAll(pub, destination, [...range(3, 'live-'), 'end']);

    const bodies = await untilBody(inbox, 'end');
    assert.deepEqual(bodies, [...range(5), ...range(5, 'missed-'), ...range(3, 'live-'), 'end']);
    assert.ok(inbox.messages.every((m) => m.headers['x-resume-gap'] === undefined));
    // Message ids increase along the destination's stream, so the resume point is unambiguous.
    const ids = inbox.messages.map((m) => m.headers['message-id']);
    assert.equal(new Set(ids).size, ids.length);
    await sub.client.deactivate();
  });

  test('when history no longer reaches back, the first MESSAGE carries x-resume-gap:true', async () => {
    const destination = '/topic/short.ticks';
    const pub = await stompjs();
    const inbox = new Inbox();
    const sub = await resumingSubscriber(stompjs, destination, inbox);
    await publishAll(pub, destination, range(2));
    await inbox.until(2);

    await sub.client.deactivate();
    // Ten missed, five kept.
    await publishAll(pub, destination, range(10, 'missed-'));
    await sub.reconnect();
    await publishAll(pub, destination, ['live', 'end']);

    const bodies = await untilBody(inbox, 'end');
    assert.deepEqual(bodies, [...range(2), ...range(10, 'missed-').slice(5), 'live', 'end']);
    const marks = inbox.messages.slice(2).map((m) => m.headers['x-resume-gap'] ?? '-');
    assert.deepEqual(marks, ['true', '-', '-', '-', '-', '-', '-']);
    await sub.client.deactivate();
  });

  test('resuming a queue or a wildcard subscription is refused', async () => {
    for (const destination of ['/queue/resume', '/topic/resume.*']) {
      const e = await expectRefused(
        broker(),
        'SUBSCRIBE',
        { id: '0', destination, 'x-resume-after': `${destination}@1-0` },
        'invalid x-resume-after',
        { receipt: 'r' },
      );
      assert.match(bodyText(e), /only (topic subscriptions|exact topic destinations) resume/);
    }
  });
});
