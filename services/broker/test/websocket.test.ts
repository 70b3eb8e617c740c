// The WebSocket transport end to end: subprotocol negotiation, frames packed into and split over
// WebSocket messages, text vs binary messages, large messages through stompjs, the HTTP endpoints on
// the same port, and upgrades on the wrong path.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import type { IMessage } from '@stomp/stompjs';
import WebSocket from 'ws';
import { messages, unique } from './helpers/conformance-kit.js';
import { bodyText, frame, header, RawClient } from './helpers/raw-client.js';
import { Inbox, receipt, subscribed } from './helpers/stompjs.js';
import { metricValue } from './helpers/metrics.js';
import { useBroker } from './helpers/suite.js';

/** The status and sec-websocket-protocol of a raw upgrade request (no client-side protocol checks). */
function upgrade(port: number, path: string, protocols?: string): Promise<{ status: number; protocol: string | undefined }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': randomBytes(16).toString('base64'),
    };
    if (protocols !== undefined) headers['sec-websocket-protocol'] = protocols;
    const req = request({ host: '127.0.0.1', port, path, headers });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode!, protocol: res.headers['sec-websocket-protocol'] as string | undefined });
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode!, protocol: undefined });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Status of a `ws` client's upgrade attempt: 101 if it opened, else the HTTP status. */
function wsStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['v12.stomp']);
    ws.on('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    ws.on('error', reject);
  });
}

describe('WebSocket transport', () => {
  const { broker, connectRaw, openRaw, stompjs } = useBroker();

  test('subprotocol negotiation prefers v12.stomp, honours what is offered, and works without one', async () => {
    const cases: [string[], string][] = [
      [['v10.stomp', 'v11.stomp', 'v12.stomp'], 'v12.stomp'],
      [['v11.stomp'], 'v11.stomp'],
      [['v10.stomp', 'v11.stomp'], 'v11.stomp'],
      [['v10.stomp'], 'v10.stomp'],
      [[], ''],
    ];
    for (const [offered, expected] of cases) {
      const c = await RawClient.ws(broker().wsUrl, offered);
      assert.equal(c.protocol, expected, `offered ${offered.join(',') || '(none)'}`);
      const connected = await c.connect({ 'accept-version': '1.0,1.1,1.2' });
      assert.equal(header(connected, 'version'), '1.2');
      await c.sendWithReceipt('SEND', { destination: unique('/topic/ws-proto-') }, 'works');
      c.close();
    }
    // Only STOMP protocols are ever selected; a client offering none of them gets none.
    assert.deepEqual(await upgrade(broker().wsPort, '/ws', 'mqtt, v11.stomp'), { status: 101, protocol: 'v11.stomp' });
    assert.deepEqual(await upgrade(broker().wsPort, '/ws', 'mqtt'), { status: 101, protocol: undefined });
  });

  test('several frames in one WebSocket message are all processed, in order', async () => {
    const d = unique('/queue/ws-packed-');
    const c = await openRaw('ws');
    c.send(Buffer.concat([
      frame('CONNECT', { 'accept-version': '1.2', host: '/', 'heart-beat': '0,0' }),
      Buffer.from('\n\r\n'),
      frame('SUBSCRIBE', { id: 's', destination: d, receipt: 'r-sub' }),
      frame('SEND', { destination: d }, 'one'),
      Buffer.from('\n'),
      frame('SEND', { destination: d, 'content-length': '5' }, 't\0w\0o'),
      frame('SEND', { destination: d, receipt: 'r-last' }, 'three'),
    ]));
    await c.waitFor((f) => f.command === 'RECEIPT' && header(f, 'receipt-id') === 'r-last');
    await c.waitFor((f) => f.command === 'MESSAGE' && bodyText(f) === 'three');
    const commands = c.frames.map((f) => f.command);
    assert.equal(commands[0], 'CONNECTED');
    assert.equal(commands.filter((x) => x === 'RECEIPT').length, 2);
    assert.ok(commands.indexOf('RECEIPT') < commands.indexOf('MESSAGE'), 'the SUBSCRIBE receipt comes before any MESSAGE');
    assert.equal(header(c.frames[commands.indexOf('RECEIPT')]!, 'receipt-id'), 'r-sub');
    assert.deepEqual(messages(c).map(bodyText), ['one', 't\0w\0o', 'three']);
  });

  test('a frame split over several WebSocket messages, at every byte position, is reassembled', async () => {
    const d = unique('/topic/ws-split-');
    const sub = await connectRaw('ws');
    await sub.sendWithReceipt('SUBSCRIBE', { id: 's', destination: d });
    const c = await connectRaw('ws');
    const bodies: string[] = [];
    const withLength = frame('SEND', { destination: d, 'content-length': '7', 'x-h': 'é' }, 'a\0b\ncd\0');
    const withoutLength = frame('SEND', { destination: d, 'x-h': 'é' }, 'héllo wörld');
    for (const f of [withLength, withoutLength]) {
      for (let cut = 1; cut < f.length; cut++) {
        c.send(f.subarray(0, cut));
        c.send(f.subarray(cut));
        bodies.push(f === withLength ? 'a\0b\ncd\0' : 'héllo wörld');
      }
    }
    // And once as one-byte messages.
    for (let i = 0; i < withoutLength.length; i++) c.send(withoutLength.subarray(i, i + 1));
    bodies.push('héllo wörld');
    await c.sendWithReceipt('SEND', { destination: d }, 'end', 15_000);
    bodies.push('end');
    await sub.waitFor((f) => f.command === 'MESSAGE' && bodyText(f) === 'end', 15_000);
    const got = messages(sub);
    assert.deepEqual(got.map(bodyText), bodies);
    assert.ok(got.slice(0, -1).every((f) => header(f, 'x-h') === 'é'));
  });

  test('stompjs with splitLargeFrames and a small maxWebSocketChunkSize delivers a large body intact', async () => {
    const d = unique('/queue/ws-chunked-');
    const sub = await stompjs();
    const inbox = new Inbox();
    await subscribed(sub, d, inbox.push);
    const pub = await stompjs({ splitLargeFrames: true, maxWebSocketChunkSize: 1024 });
    // Multi-byte characters make the chunk boundaries fall inside UTF-8 sequences of the frame.
    const body = 'chunked é€ ü '.repeat(20_000);
    pub.publish({ destination: d, body, headers: { receipt: 'chunked' } });
    await receipt(pub, 'chunked', 20_000);
    const [m] = await inbox.until(1, 20_000);
    assert.equal(m!.body.length, body.length);
    assert.ok(m!.body === body, 'the body arrived unchanged');
  });

  for (const ack of ['auto', 'client-individual']) {
    test(`MESSAGE frames travel as text when valid UTF-8 and as binary otherwise (ack ${ack})`, async () => {
      const d = unique('/topic/ws-kinds-');
      const sub = await connectRaw('ws');
      await sub.sendWithReceipt('SUBSCRIBE', { id: 's', destination: d, ack });
      assert.ok(sub.messageKinds.length >= 1 && sub.messageKinds.every((k) => k === 'text'), 'CONNECTED and RECEIPT are text');
      const pub = await connectRaw('tcp');
      const cases: [string, Buffer, 'text' | 'binary'][] = [
        ['utf-8', Buffer.from('héllo wörld ✓'), 'text'],
        ['invalid utf-8', Buffer.from([0x68, 0xff, 0xfe, 0x80, 0x69]), 'binary'],
        ['truncated sequence', Buffer.from([0x61, 0xe2, 0x82]), 'binary'],
        ['ascii again', Buffer.from('plain'), 'text'],
      ];
      for (const [name, body, kind] of cases) {
        const k0: number = sub.messageKinds.length;
        const n = sub.frames.length;
        pub.send(frame('SEND', { destination: d, 'content-length': String(body.length), receipt: name }, body));
        await pub.waitFor((f) => f.command === 'RECEIPT' && header(f, 'receipt-id') === name, 15_000);
        const m = await sub.waitFor((f) => f.command === 'MESSAGE' && sub.frames.indexOf(f) >= n, 15_000);
        assert.ok(Buffer.from(m.body).equals(body), `${name}: body intact`);
        assert.deepEqual(sub.messageKinds.slice(k0), [kind], name);
      }
    });
  }

  test('a 1 MiB message, text and binary, goes end to end through stompjs', async () => {
    const d = unique('/topic/ws-big-');
    const sub = await stompjs();
    const got: IMessage[] = [];
    const inbox = new Inbox();
    await subscribed(sub, d, (m) => {
      got.push(m);
      inbox.push(m);
    });
    const pub = await stompjs();
    const text = 'ab€'.repeat(Math.ceil((1 << 20) / 5)).slice(0, 1 << 19) + 'x'.repeat(1 << 19);
    const bytes = randomBytes(1 << 20);
    pub.publish({ destination: d, body: text });
    pub.publish({ destination: d, binaryBody: bytes, headers: { 'content-type': 'application/octet-stream' } });
    await inbox.until(2, 30_000);
    assert.ok(got[0]!.body === text, 'the 1 MiB text body arrived unchanged');
    assert.ok(Buffer.from(got[1]!.binaryBody).equals(bytes), 'the 1 MiB binary body arrived unchanged');
    assert.equal(got[1]!.headers['content-type'], 'application/octet-stream');
  });

  test('HTTP endpoints on the WebSocket port: /healthz, /readyz, /metrics, and 404 elsewhere', async () => {
    const healthz = await fetch(`${broker().httpUrl}/healthz`);
    assert.equal(healthz.status, 200);
    assert.equal((await healthz.text()).trim(), 'ok');
    const readyz = await fetch(`${broker().httpUrl}/readyz`);
    assert.equal(readyz.status, 200);
    assert.equal((await readyz.text()).trim(), 'ready');
    const metrics = await fetch(`${broker().httpUrl}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await metrics.text();
    for (const name of ['stompede_connections', 'stompede_messages_published_total', 'stompede_slow_consumer_disconnects_total']) {
      assert.ok(metricValue(text, name) !== undefined, `${name} is exported`);
    }
    // '/' is the demo page (web.test.ts).
    for (const path of ['/nope', '/healthz/extra', '/metricsx', '/api', '/vendor/nope.js']) {
      const res = await fetch(`${broker().httpUrl}${path}`);
      assert.equal(res.status, 404, path);
      await res.arrayBuffer();
    }
    assert.equal((await fetch(`${broker().httpUrl}/healthz`, { method: 'POST' })).status, 404);
  });

  test('a WebSocket upgrade on another path is refused', async () => {
    assert.equal(await wsStatus(broker().wsUrl), 101);
    for (const path of ['/other', '/ws/extra', '/WS']) {
      assert.equal(await wsStatus(`ws://127.0.0.1:${broker().wsPort}${path}`), 404, path);
    }
    // An HTTP endpoint answers the request as plain HTTP; it never switches protocols.
    assert.equal(await wsStatus(`ws://127.0.0.1:${broker().wsPort}/healthz`), 200);
    assert.equal(await wsStatus(`ws://127.0.0.1:${broker().wsPort}/`), 200);
  });
});

describe('WebSocket transport with STOMPEDE_WS_PATH', () => {
  const { broker } = useBroker({ env: { STOMPEDE_WS_PATH: '/stomp' } });

  test('only the configured path upgrades', async () => {
    const url = `ws://127.0.0.1:${broker().wsPort}/stomp`;
    const c = await RawClient.ws(url);
    await c.connect();
    await c.sendWithReceipt('SEND', { destination: '/topic/ws-path' }, 'on /stomp');
    c.close();
    assert.equal(await wsStatus(`ws://127.0.0.1:${broker().wsPort}/ws`), 404);
    assert.equal((await upgrade(broker().wsPort, '/ws', 'v12.stomp')).status, 404);
  });
});
