// End-to-end smoke: one node, stompjs over WebSocket and raw TCP, the basic paths.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bodyText, frame, header } from './helpers/raw-client.js';
import { Inbox, receipt } from './helpers/stompjs.js';
import { metricValue } from './helpers/metrics.js';
import { useBroker } from './helpers/suite.js';

describe('smoke', () => {
  const { broker, connectRaw, openRaw, stompjs } = useBroker();

  test('stompjs publish/subscribe over WebSocket', async () => {
    const sub = await stompjs();
    const pub = await stompjs();
    const inbox = new Inbox();
    sub.subscribe('/topic/smoke', inbox.push, { receipt: 'sub-1' });
    await receipt(sub, 'sub-1');
    pub.publish({ destination: '/topic/smoke', body: 'hello' });
    const [m] = await inbox.until(1);
    assert.equal(m!.body, 'hello');
    assert.equal(m!.headers['destination'], '/topic/smoke');
    await sub.deactivate();
    await pub.deactivate();
  });

  test('raw TCP client reaches a WebSocket subscriber', async () => {
    const sub = await connectRaw('ws');
    await sub.sendWithReceipt('SUBSCRIBE', { id: '0', destination: '/queue/smoke' });
    const pub = await connectRaw('tcp');
    await pub.sendWithReceipt('SEND', { destination: '/queue/smoke' }, 'over tcp');
    const m = await sub.waitForCommand('MESSAGE');
    assert.equal(bodyText(m), 'over tcp');
    assert.equal(header(m, 'subscription'), '0');
  });

  test('health endpoints', async () => {
    assert.equal((await fetch(`${broker().httpUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${broker().httpUrl}/readyz`)).status, 200);
    const metrics = await (await fetch(`${broker().httpUrl}/metrics`)).text();
    assert.ok(metricValue(metrics, 'stompede_connections', { transport: 'tcp' }) !== undefined);
  });

  test('ERROR is followed by a close', async () => {
    const c = await openRaw('tcp');
    c.send(frame('FOO'));
    const e = await c.waitForCommand('ERROR');
    assert.equal(header(e, 'message'), 'not connected');
    await c.waitClosed();
  });
});
