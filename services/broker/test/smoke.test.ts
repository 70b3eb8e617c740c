// End-to-end smoke: one node, stompjs over WebSocket and raw TCP, the basic paths.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBroker, type BrokerHandle } from './helpers/broker-process.js';
import { bodyText, frame, header, RawClient } from './helpers/raw-client.js';
import { connectStompjs, Inbox, receipt } from './helpers/stompjs.js';

describe('smoke', () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker.stop();
  });

  test('stompjs publish/subscribe over WebSocket', async () => {
    const sub = await connectStompjs(broker.wsUrl);
    const pub = await connectStompjs(broker.wsUrl);
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
    const sub = await RawClient.ws(broker.wsUrl);
    await sub.connect();
    await sub.sendWithReceipt('SUBSCRIBE', { id: '0', destination: '/queue/smoke' });
    const pub = await RawClient.tcp(broker.tcpPort);
    await pub.connect();
    await pub.sendWithReceipt('SEND', { destination: '/queue/smoke' }, 'over tcp');
    const m = await sub.waitForCommand('MESSAGE');
    assert.equal(bodyText(m), 'over tcp');
    assert.equal(header(m, 'subscription'), '0');
    sub.close();
    pub.close();
  });

  test('health endpoints', async () => {
    assert.equal((await fetch(`${broker.httpUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${broker.httpUrl}/readyz`)).status, 200);
    const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text();
    assert.match(metrics, /stompede_connections /);
  });

  test('ERROR is followed by a close', async () => {
    const c = await RawClient.tcp(broker.tcpPort);
    c.send(frame('FOO'));
    const e = await c.waitForCommand('ERROR');
    assert.equal(header(e, 'message'), 'not connected');
    await c.waitClosed();
  });
});
