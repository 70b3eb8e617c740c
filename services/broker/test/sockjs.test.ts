// SockJS on the WebSocket port: each transport's framing read byte for byte over raw HTTP (the
// SockJS protocol 0.3.3 test suite's expectations), the session lifecycle (close frames, the
// disconnect delay, interrupted streams, the bounded queue), and @stomp/stompjs over sockjs-client
// running the same STOMP scenario over every transport.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import type { Client, IFrame } from '@stomp/stompjs';
import WebSocket from 'ws';
import { AdminHandle } from './helpers/admin.js';
import { eventually } from './helpers/expect.js';
import { metric } from './helpers/metrics.js';
import { connectSockJs, http, HttpStream, SOCKJS_TRANSPORTS, stomp, stompFrames } from './helpers/sockjs.js';
import { Inbox, receipt } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';

const CONNECT = stomp('CONNECT', { 'accept-version': '1.2', host: 'localhost', 'heart-beat': '0,0' });
const NO_CACHE = 'no-store, no-cache, must-revalidate, max-age=0';

/** A raw xhr-polling SockJS session, opened. */
async function pollingSession(base: string): Promise<{ url: string; poll: () => Promise<string>; send: (...m: string[]) => Promise<number> }> {
  const url = `${base}/000/${randomUUID()}`;
  const open = await http('POST', `${url}/xhr`);
  assert.equal(open.body, 'o\n');
  return {
    url,
    poll: async () => (await http('POST', `${url}/xhr`)).body,
    send: async (...m) => (await http('POST', `${url}/xhr_send`, JSON.stringify(m))).status,
  };
}

describe('SockJS framing and session lifecycle', () => {
  const suite = useBroker({
    env: {
      STOMPEDE_SOCKJS_DISCONNECT_DELAY_MS: '1000',
      STOMPEDE_SOCKJS_RESPONSE_LIMIT_BYTES: '4096',
      STOMPEDE_MAX_PENDING_OUTBOUND_BYTES: '65536',
    },
  });
  const base = (): string => `${suite.broker().httpUrl}/sockjs`;

  test('greeting, /info (CORS, not cached, fresh entropy), OPTIONS, and 404 for malformed session paths', async () => {
    for (const url of [base(), `${base()}/`]) {
      const r = await http('GET', url);
      assert.equal(r.status, 200);
      assert.equal(r.body, 'Welcome to SockJS!\n');
      assert.equal(r.headers['content-type'], 'text/plain; charset=UTF-8');
      assert.equal(r.headers['set-cookie'], undefined);
    }
    const info = await http('GET', `${base()}/info`, undefined, { origin: 'http://app.example' });
    assert.equal(info.headers['content-type'], 'application/json; charset=UTF-8');
    assert.equal(info.headers['cache-control'], NO_CACHE);
    assert.equal(info.headers['access-control-allow-origin'], 'http://app.example');
    assert.equal(info.headers['access-control-allow-credentials'], 'true');
    assert.equal(info.headers['set-cookie'], undefined, 'no JSESSIONID: stickiness is the load balancer\'s cookie');
    const body = JSON.parse(info.body) as { websocket: boolean; cookie_needed: boolean; origins: string[]; entropy: number };
    assert.deepEqual({ ...body, entropy: 0 }, { websocket: true, cookie_needed: false, origins: ['*:*'], entropy: 0 });
    const again = JSON.parse((await http('GET', `${base()}/info`)).body) as { entropy: number };
    assert.notEqual(again.entropy, body.entropy);
    for (const [path, methods] of [['/info', 'OPTIONS, GET'], ['/abc/abc/xhr', 'OPTIONS, POST'], ['/abc/abc/xhr_send', 'OPTIONS, POST'], ['/abc/abc/xhr_streaming', 'OPTIONS, POST']] as const) {
      const o = await http('OPTIONS', `${base()}${path}`, undefined, { origin: 'null' });
      assert.equal(o.status, 204, path);
      assert.equal(o.headers['access-control-allow-methods'], methods);
      assert.equal(o.headers['access-control-allow-origin'], '*', 'origin null is answered with *');
      assert.match(o.headers['cache-control'] ?? '', /public, max-age=31536000/);
      assert.ok(Number(o.headers['access-control-max-age']) > 1_000_000);
      assert.ok(o.headers['expires']);
    }
    for (const suffix of ['/a', '/a.html', '//', '/a/a', '/a/a/', '/a./a/xhr', '/a/a./xhr', '/./././xhr', '/a/a/nope']) {
      assert.equal((await http('POST', `${base()}${suffix}`)).status, 404, suffix);
    }
    const plainGet = await http('GET', `${base()}/0/0/websocket`);
    assert.equal(plainGet.status, 400);
    assert.match(plainGet.body, /Can "Upgrade" only to "WebSocket"/);
    assert.equal((await http('POST', `${base()}/0/0/websocket`)).status, 405);
  });

  test('xhr-polling: o, STOMP over xhr_send, a[...] answers, 2010 for a second poll, xhr_send errors', async () => {
    const s = await pollingSession(base());
    const sent = await http('POST', `${s.url}/xhr_send`, JSON.stringify([CONNECT]), { 'content-type': 'T' });
    assert.equal(sent.status, 204);
    assert.equal(sent.body, '');
    assert.equal(sent.headers['content-type'], 'text/plain; charset=UTF-8');
    assert.equal(sent.headers['cache-control'], NO_CACHE);
    const answer = await http('POST', `${s.url}/xhr`);
    assert.equal(answer.headers['content-type'], 'application/javascript; charset=UTF-8');
    assert.equal(answer.headers['cache-control'], NO_CACHE);
    assert.match(answer.body, /^a\["CONNECTED\\nversion:1\.2\\n.*\\u0000"\]\n$/);
    // A poll waits for data and answers with what comes.
    const held = await HttpStream.open('POST', `${s.url}/xhr`);
    assert.equal(await s.send(stomp('SUBSCRIBE', { id: '1', destination: '/topic/poll', receipt: 'r1' })), 204);
    await held.untilEnded();
    assert.deepEqual(stompFrames(held.text).map((f) => f.split('\n')[0]), ['RECEIPT']);
    assert.equal((await http('POST', `${s.url}/xhr_send`, '["x')).status, 500);
    assert.match((await http('POST', `${s.url}/xhr_send`, '["x')).body, /Broken JSON encoding\./);
    assert.match((await http('POST', `${s.url}/xhr_send`, '')).body, /Payload expected\./);
    assert.equal((await http('POST', `${base()}/000/${randomUUID()}/xhr_send`, '["x"]')).status, 404);
    // One receiving request at a time: while a stream is open a poll is sent away with 2010.
    const stream = await HttpStream.open('POST', `${s.url}/xhr_streaming`);
    await stream.until((t) => t.endsWith('h\n'), 'prelude');
    assert.equal(await s.poll(), 'c[2010,"Another connection still open"]\n');
    stream.abort();
  });

  test('xhr-streaming: 2 KiB prelude, o, frames, and the response ends after the response limit', async () => {
    const url = `${base()}/000/${randomUUID()}`;
    const stream = await HttpStream.open('POST', `${url}/xhr_streaming`);
    await stream.until((t) => t === `${'h'.repeat(2048)}\no\n`, 'prelude and open frame');
    assert.equal(stream.headers['content-type'], 'application/javascript; charset=UTF-8');
    assert.equal(stream.headers['cache-control'], NO_CACHE);
    await http('POST', `${url}/xhr_send`, JSON.stringify([CONNECT, stomp('SUBSCRIBE', { id: '1', destination: '/topic/s' })]));
    await stream.until((t) => stompFrames(t).length === 1, 'CONNECTED');
    const body = 'x'.repeat(1000);
    for (let i = 0; i < 5; i++) await http('POST', `${url}/xhr_send`, JSON.stringify([stomp('SEND', { destination: '/topic/s' }, body)]));
    await stream.untilEnded();
    assert.ok(stream.text.length >= 4096 && stream.text.length < 4096 + 2048 + 1500, `ended just past the limit (${stream.text.length} bytes)`);
    // The session lives on: the next streaming request gets what followed.
    const next = await HttpStream.open('POST', `${url}/xhr_streaming`);
    const frames = stompFrames(stream.text).length;
    await next.until((t) => frames + stompFrames(t).length === 6, 'the rest of the messages');
    assert.ok(!next.text.includes('\no\n'), 'no second open frame');
    next.abort();
  });

  test('eventsource and htmlfile framing', async () => {
    const url = `${base()}/000/${randomUUID()}`;
    const es = await HttpStream.open('GET', `${url}/eventsource`);
    await es.until((t) => t === '\r\ndata: o\r\n\r\n', 'prelude and open frame');
    assert.equal(es.headers['content-type'], 'text/event-stream; charset=UTF-8');
    assert.equal(es.headers['cache-control'], NO_CACHE);
    await http('POST', `${url}/xhr_send`, JSON.stringify([CONNECT]));
    await es.until((t) => /data: a\["CONNECTED\\n.*"\]\r\n\r\n$/.test(t), 'CONNECTED as an event');
    es.abort();

    const url2 = `${base()}/000/${randomUUID()}`;
    const hf = await HttpStream.open('GET', `${url2}/htmlfile?c=%63allback`);
    await hf.until((t) => t.endsWith('<script>\np("o");\n</script>\r\n'), 'open frame as a script');
    assert.ok(hf.text.indexOf('<script>\np("o")') > 1024, 'prelude padded past 1 KiB');
    assert.match(hf.text, /var c = parent\.callback;/);
    assert.equal(hf.headers['content-type'], 'text/html; charset=UTF-8');
    hf.abort();
    const noCallback = await http('GET', `${base()}/a/a/htmlfile`);
    assert.equal(noCallback.status, 500);
    assert.match(noCallback.body, /"callback" parameter required/);
    assert.equal((await http('GET', `${base()}/a/a/htmlfile?c=alert(1)`)).status, 500);
  });

  test('websocket transport: o, a[...] both ways, empty messages ignored, broken JSON cuts; /websocket is plain STOMP', async () => {
    const wsBase = base().replace('http:', 'ws:');
    const ws = new WebSocket(`${wsBase}/000/${randomUUID()}/websocket`);
    const got: string[] = [];
    ws.on('message', (d) => got.push(d.toString()));
    await eventually(() => got.length === 1, () => `open frame: ${got}`);
    assert.equal(got[0], 'o');
    ws.send('');
    ws.send(JSON.stringify([CONNECT]));
    await eventually(() => got.length === 2, () => `CONNECTED: ${got}`);
    assert.match(got[1]!, /^a\["CONNECTED\\n/);
    ws.send(JSON.stringify(stomp('DISCONNECT', { receipt: 'bye' })));
    await eventually(() => got.includes('c[3000,"Go away!"]'), () => `close frame: ${got}`);
    assert.match(got.at(-2)!, /^a\["RECEIPT\\nreceipt-id:bye/);

    const broken = new WebSocket(`${wsBase}/000/${randomUUID()}/websocket`);
    let closed = false;
    broken.on('close', () => (closed = true));
    await new Promise((r) => broken.once('message', r));
    broken.send('["a');
    await eventually(() => closed, () => 'broken JSON closes the WebSocket');

    const raw = new WebSocket(`${wsBase}/websocket`, ['v12.stomp']);
    const rawGot: string[] = [];
    raw.on('message', (d) => rawGot.push(d.toString()));
    await new Promise((r) => raw.once('open', r));
    raw.send(CONNECT);
    await eventually(() => rawGot.length > 0, () => 'CONNECTED on the raw endpoint');
    assert.match(rawGot[0]!, /^CONNECTED\n/);
    raw.close();
  });

  test('after DISCONNECT every poll gets c[3000,"Go away!"] until the id is forgotten', async () => {
    const s = await pollingSession(base());
    await s.send(CONNECT, stomp('DISCONNECT', { receipt: 'bye' }));
    const frames: string[] = [];
    await eventually(async () => {
      frames.push(...stompFrames(await s.poll()));
      return frames.some((f) => f.startsWith('RECEIPT'));
    }, () => `RECEIPT: ${frames}`);
    assert.equal(await s.poll(), 'c[3000,"Go away!"]\n');
    assert.equal(await s.poll(), 'c[3000,"Go away!"]\n');
    assert.equal(await s.send(stomp('SEND', { destination: '/topic/x' })), 404, 'a closed session takes nothing');
    await eventually(async () => (await s.poll()) === 'o\n', () => 'a new session under the old id after the disconnect delay');
  });

  test('a session that stops polling is closed: its subscription dropped, its unacked message redelivered', async () => {
    const queue = `/queue/sockjs-${randomUUID()}`;
    const s = await pollingSession(base());
    await s.send(CONNECT, stomp('SUBSCRIBE', { id: '1', destination: queue, ack: 'client-individual', receipt: 'sub' }));
    const seen: string[] = [];
    await eventually(async () => {
      seen.push(...stompFrames(await s.poll()));
      return seen.some((f) => f.startsWith('RECEIPT'));
    }, () => `subscribed: ${seen}`);
    const producer = await suite.stompjs();
    producer.publish({ destination: queue, body: 'unacked' });
    await eventually(async () => {
      seen.push(...stompFrames(await s.poll()));
      return seen.some((f) => f.startsWith('MESSAGE'));
    }, () => `MESSAGE: ${seen}`);
    // No more polls: after the disconnect delay the session closes like a dropped socket.
    const inbox = new Inbox();
    producer.subscribe(queue, inbox.push, { ack: 'client-individual' });
    const [m] = await inbox.until(1, 10_000);
    assert.equal(m!.body, 'unacked');
    assert.equal(m!.headers['redelivered'], 'true');
    await eventually(async () => (await metric(suite.broker(), 'stompede_connections', { transport: 'sockjs' })) === 0, () => 'no SockJS session left');
    assert.match(await s.poll(), /^c\[3000,"Go away!"\]\n$|^o\n$/);
  });

  test('a streaming request cut by the network ends the session: c[1002,"Connection interrupted"]', async () => {
    const url = `${base()}/000/${randomUUID()}`;
    const first = await HttpStream.open('POST', `${url}/xhr_streaming`);
    await first.until((t) => t.endsWith('o\n'), 'open frame');
    const second = await HttpStream.open('POST', `${url}/xhr_streaming`);
    await second.until((t) => t.endsWith('c[2010,"Another connection still open"]\n'), '2010');
    await second.untilEnded();
    first.abort();
    await eventually(async () => {
      const third = await HttpStream.open('POST', `${url}/xhr_streaming`);
      await third.untilEnded();
      return third.text.endsWith('c[1002,"Connection interrupted"]\n');
    }, () => '1002 after the abort');
  });

  test('the outgoing queue is bounded: a topic subscriber that stops polling meets the slow-consumer policy', async () => {
    const topic = `/topic/flood-${randomUUID()}`;
    const s = await pollingSession(base());
    await s.send(CONNECT, stomp('SUBSCRIBE', { id: '1', destination: topic, receipt: 'sub' }));
    await eventually(async () => stompFrames(await s.poll()).some((f) => f.startsWith('RECEIPT')), () => 'subscribed');
    const before = await metric(suite.broker(), 'stompede_slow_consumer_disconnects_total');
    const producer = await suite.stompjs();
    const body = 'y'.repeat(4096);
    for (let i = 0; i < 40; i++) producer.publish({ destination: topic, body });
    await receipt(producer, await (async () => {
      producer.publish({ destination: topic, body: 'last', headers: { receipt: 'flooded' } });
      return 'flooded';
    })());
    await eventually(async () => (await metric(suite.broker(), 'stompede_slow_consumer_disconnects_total')) === before + 1, () => 'slow-consumer disconnect');
    const frames: string[] = [];
    let closeFrame = '';
    await eventually(async () => {
      const t = await s.poll();
      if (t.startsWith('c[')) closeFrame = t;
      else frames.push(...stompFrames(t));
      return closeFrame !== '';
    }, () => `close frame after ${frames.length} frames`);
    assert.equal(closeFrame, 'c[3000,"Go away!"]\n');
    const error = frames.find((f) => f.startsWith('ERROR'));
    assert.ok(error, 'the ERROR reaches the client before the close');
    assert.match(error!, /message:slow consumer/);
    assert.ok(frames.filter((f) => f.startsWith('MESSAGE')).length < 40, 'not every message was queued');
  });
});

describe('SockJS heart-beats', () => {
  const suite = useBroker({ env: { STOMPEDE_SOCKJS_HEARTBEAT_MS: '200' } });

  test('an idle poll is answered with h; an idle stream and WebSocket get h frames', async () => {
    const base = `${suite.broker().httpUrl}/sockjs`;
    const s = await pollingSession(base);
    assert.equal(await s.poll(), 'h\n');
    const stream = await HttpStream.open('POST', `${base}/000/${randomUUID()}/xhr_streaming`);
    await stream.until((t) => t.endsWith('o\nh\nh\n'), 'two heart-beats');
    stream.abort();
    const ws = new WebSocket(`${base.replace('http:', 'ws:')}/000/${randomUUID()}/websocket`);
    const got: string[] = [];
    ws.on('message', (d) => got.push(d.toString()));
    await eventually(() => got.filter((g) => g === 'h').length >= 2, () => `heart-beats: ${got}`);
    ws.close();
  });
});

describe('STOMP over sockjs-client, every transport', () => {
  const suite = useBroker({ env: { STOMPEDE_SOCKJS_DISCONNECT_DELAY_MS: '1000' } });

  for (const transport of SOCKJS_TRANSPORTS) {
    test(`${transport}: subscribe, send, receive, ack on a queue, disconnect with receipt; counted as sockjs`, async () => {
      const url = `${suite.broker().httpUrl}/sockjs`;
      const client: Client = await connectSockJs(url, transport);
      const queue = `/queue/${transport}-${randomUUID()}`;
      const inbox = new Inbox();
      client.subscribe(queue, inbox.push, { ack: 'client-individual', receipt: 'sub' });
      await receipt(client, 'sub');
      client.publish({ destination: queue, body: `hello over ${transport} ✓` });
      const [m] = await inbox.until(1);
      assert.equal(m!.body, `hello over ${transport} ✓`);
      m!.ack({ receipt: 'acked' });
      await receipt(client, 'acked');
      assert.equal(await metric(suite.broker(), 'stompede_connections', { transport: 'sockjs' }), 1);
      const admin = new AdminHandle(suite.broker());
      const rows = (await admin.listConnections({})).connections;
      assert.deepEqual(rows.map((r) => r.transport), [3], 'TRANSPORT_SOCKJS in the admin listing');
      admin.client.close();
      // stompjs's deactivate sends DISCONNECT with a receipt and calls onDisconnect when it arrives.
      const disconnected = new Promise<IFrame>((resolve) => (client.onDisconnect = resolve));
      client.deactivate();
      assert.equal((await disconnected).command, 'RECEIPT');
      await eventually(async () => (await metric(suite.broker(), 'stompede_connections', { transport: 'sockjs' })) === 0, () => 'session closed');
    });
  }
});

describe('SockJS streaming backpressure', () => {
  const suite = useBroker({ env: { STOMPEDE_SOCKJS_RESPONSE_LIMIT_BYTES: '1000000000', STOMPEDE_MAX_PENDING_OUTBOUND_BYTES: '65536' } });

  test('a stream whose reader stopped reading meets the slow-consumer policy once the kernel buffers are full', async () => {
    const broker = suite.broker();
    const topic = `/topic/stalled-${randomUUID()}`;
    const path = `/sockjs/000/${randomUUID()}`;
    // A raw socket, so that the test can stop reading while the response streams.
    const socket = connect(broker.wsPort, '127.0.0.1');
    await once(socket, 'connect');
    let received = 0;
    socket.on('data', (d: Buffer) => (received += d.length));
    socket.write(`POST ${path}/xhr_streaming HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`);
    await eventually(() => received > 2048, () => 'prelude');
    await http('POST', `${broker.httpUrl}${path}/xhr_send`, JSON.stringify([CONNECT, stomp('SUBSCRIBE', { id: '1', destination: topic, receipt: 'sub' })]));
    await eventually(() => received > 2200, () => 'CONNECTED and RECEIPT');
    socket.pause();
    const before = await metric(broker, 'stompede_slow_consumer_disconnects_total');
    const producer = await suite.stompjs();
    const body = 'z'.repeat(8192);
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 100; i++) producer.publish({ destination: topic, body });
      await receipt(producer, await (async () => {
        producer.publish({ destination: topic, body: '', headers: { receipt: `r${round}` } });
        return `r${round}`;
      })());
      if ((await metric(broker, 'stompede_slow_consumer_disconnects_total')) > before) break;
    }
    assert.equal(await metric(broker, 'stompede_slow_consumer_disconnects_total'), before + 1, 'the stalled stream was cut as a slow consumer');
    socket.destroy();
  });
});
