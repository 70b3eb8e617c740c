// STOMP 1.2 server checklist, section 2.2 "Connection lifecycle", rules #20-#27: refusals, STOMP vs
// CONNECT, virtual hosts, the CONNECTED frame and version negotiation. Black-box, against real
// brokers over TCP and WebSocket. Rule #19 (connect/disconnect churn) is in
// conformance-connect-churn.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Client, Versions } from '@stomp/stompjs';
import { messages, messageTagged, unique } from './helpers/conformance-kit.js';
import { eventually, expectErrorThenClose, refused } from './helpers/expect.js';
import { metric } from './helpers/metrics.js';
import { bodyText, frame, header, RawClient, TRANSPORTS, type RawFrame, type TransportKind } from './helpers/raw-client.js';
import { useBroker } from './helpers/suite.js';

const BROKER_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('conformance: connection lifecycle (#20-#27)', () => {
  const { broker, connectRaw, openRaw, subscriber, stompjs } = useBroker({ env: { STOMPEDE_VHOSTS: '/,tenant-b' } });

  /** Sends a CONNECT-like frame with exactly `headers` (nothing added) and returns the first reply. */
  async function handshake(t: TransportKind, headers: Record<string, string>, command = 'CONNECT'): Promise<{ c: RawClient; reply: RawFrame }> {
    const c = await openRaw(t);
    c.send(frame(command, headers));
    return { c, reply: await c.next() };
  }

  /** Expects CONNECTED to `headers` and returns its negotiated version. */
  async function connectedVersion(t: TransportKind, headers: Record<string, string>, command = 'CONNECT'): Promise<string | undefined> {
    const { reply } = await handshake(t, headers, command);
    assert.equal(reply.command, 'CONNECTED', `${JSON.stringify(headers)}: ${bodyText(reply)}`);
    return header(reply, 'version');
  }

  for (const t of TRANSPORTS) {
    test(`#20 a refused CONNECT gets an ERROR saying why, then the close (${t})`, async () => {
      const host = await refused(broker(), frame('CONNECT', { 'accept-version': '1.2', host: 'nowhere.example' }), 'unknown virtual host', { kind: t, connect: false });
      assert.ok(bodyText(host).includes('"nowhere.example"') && bodyText(host).includes('STOMPEDE_VHOSTS'), bodyText(host));
      const beat = await refused(broker(), frame('CONNECT', { 'accept-version': '1.2', host: '/', 'heart-beat': 'abc' }), 'invalid heart-beat', { kind: t, connect: false });
      assert.ok(bodyText(beat).includes('"abc"'), bodyText(beat));
      // A refused frame with a receipt is answered with receipt-id on the ERROR.
      await refused(broker(), frame('SEND', { destination: '/topic/x', receipt: 'early' }, 'x'), 'not connected', { kind: t, connect: false, receipt: 'early' });
    });

    test(`#21 STOMP is handled exactly like CONNECT (${t})`, async () => {
      const headers = { 'accept-version': '1.1,1.2', host: '/', 'heart-beat': '0,0' };
      const viaConnect = await handshake(t, headers, 'CONNECT');
      const viaStomp = await handshake(t, headers, 'STOMP');
      assert.equal(viaStomp.reply.command, 'CONNECTED');
      const names = (f: RawFrame): string[] => f.headers.map(([k]) => k);
      assert.deepEqual(names(viaStomp.reply), names(viaConnect.reply));
      for (const h of ['version', 'heart-beat', 'server']) assert.equal(header(viaStomp.reply, h), header(viaConnect.reply, h), h);
      assert.notEqual(header(viaStomp.reply, 'session'), header(viaConnect.reply, 'session'));
      // Both sessions work: a STOMP-connected subscriber gets what a CONNECT-connected client sends.
      const dest = unique('/topic/stomp-');
      await viaStomp.c.sendWithReceipt('SUBSCRIBE', { id: '1', destination: dest });
      viaConnect.c.send(frame('SEND', { destination: dest, 'x-tag': 'via-connect' }, 'hi'));
      assert.equal(bodyText(await messageTagged(viaStomp.c, 'via-connect')), 'hi');
      // STOMP after CONNECT is a second CONNECT.
      viaConnect.c.send(frame('STOMP', headers));
      await expectErrorThenClose(viaConnect.c, 'already connected');
      // Same negotiation rules.
      assert.equal(await connectedVersion(t, { 'accept-version': '1.0,1.1', host: '/' }, 'STOMP'), '1.1');
      await refused(broker(), frame('STOMP', { 'accept-version': '3.0', host: '/' }), 'unsupported protocol version', { kind: t, connect: false });
    });

    test(`#22 host: missing, "/" and the aliases reach the default vhost; another vhost is separate (${t})`, async () => {
      const dest = unique('/topic/vh-');
      const sub = await openRaw(t);
      sub.send(frame('CONNECT', { 'accept-version': '1.2', 'heart-beat': '0,0' }));
      assert.equal((await sub.next()).command, 'CONNECTED');
      await sub.sendWithReceipt('SUBSCRIBE', { id: '1', destination: dest });
      const subB = await subscriber(t, dest, {}, { host: 'tenant-b' });
      const hosts = ['/', 'localhost', '127.0.0.1', '::1'];
      for (const [i, host] of hosts.entries()) {
        const pub = await connectRaw(t, { host });
        pub.send(frame('SEND', { destination: dest, 'x-tag': `host-${i}` }, host));
        assert.equal(bodyText(await messageTagged(sub, `host-${i}`)), host);
      }
      const pubB = await connectRaw(t, { host: 'tenant-b' });
      pubB.send(frame('SEND', { destination: dest, 'x-tag': 'from tenant-b' }, 'b'));
      await messageTagged(subB, 'from tenant-b');
      const last = await connectRaw(t);
      last.send(frame('SEND', { destination: dest, 'x-tag': 'last' }, 'last'));
      await messageTagged(sub, 'last');
      // Each side saw only its own vhost's messages (had one leaked, it would have arrived first).
      const tags = (c: RawClient): (string | undefined)[] => messages(c).map((f) => header(f, 'x-tag'));
      assert.deepEqual(tags(sub), [...hosts.map((_, i) => `host-${i}`), 'last']);
      assert.deepEqual(tags(subB), ['from tenant-b']);
    });

    test(`#22 an unknown host is refused with ERROR "unknown virtual host", then the close (${t})`, async () => {
      for (const host of ['example.org', 'tenant-c', '']) {
        await refused(broker(), frame('CONNECT', { 'accept-version': '1.2', host }), 'unknown virtual host', { kind: t, connect: false });
      }
      // Also for 1.0 clients that do send a host.
      await refused(broker(), frame('CONNECT', { host: 'example.org' }), 'unknown virtual host', { kind: t, connect: false });
    });

    test(`#23 CONNECTED carries version on every successful connect (${t})`, async () => {
      const cases: [Record<string, string>, string][] = [
        [{ host: '/' }, '1.0'],
        [{ 'accept-version': '1.0', host: '/' }, '1.0'],
        [{ 'accept-version': '1.1', host: '/' }, '1.1'],
        [{ 'accept-version': '1.2', host: '/' }, '1.2'],
        [{ 'accept-version': '1.0,1.1,1.2' }, '1.2'],
        [{ 'accept-version': '1.2', host: 'tenant-b' }, '1.2'],
      ];
      for (const command of ['CONNECT', 'STOMP']) {
        for (const [headers, version] of cases) assert.equal(await connectedVersion(t, headers, command), version, JSON.stringify(headers));
      }
    });

    test(`#24 CONNECTED carries server as name/version, plus session and heart-beat (${t})`, async () => {
      const sessions = new Set<string>();
      for (const accept of ['1.0', '1.1', '1.2']) {
        const { reply } = await handshake(t, { 'accept-version': accept, host: '/' });
        const server = header(reply, 'server')!;
        // server = name ["/" version] *(" " comment)
        assert.match(server, /^[^/ \r\n:]+(\/[^ \r\n:]+)?( [^\r\n]*)?$/);
        assert.equal(server, `Stompede/${BROKER_VERSION}`);
        const session = header(reply, 'session')!;
        assert.match(session, /^test-node:[0-9a-z]+$/);
        sessions.add(session);
        // heart-beat arrived with 1.1; the server offers its default 10000,10000.
        assert.equal(header(reply, 'heart-beat'), accept === '1.0' ? undefined : '10000,10000');
      }
      assert.equal(sessions.size, 3, 'session ids are unique');
    });

    test(`#25 no accept-version means STOMP 1.0 (${t})`, async () => {
      const { c, reply } = await handshake(t, { host: '/' });
      assert.equal(reply.command, 'CONNECTED');
      assert.equal(header(reply, 'version'), '1.0');
      assert.equal(header(reply, 'heart-beat'), undefined);
      // 1.0 rules apply: SUBSCRIBE without id, and no header escaping (a backslash is just a byte).
      const dest = unique('/topic/v10-');
      await c.sendWithReceipt('SUBSCRIBE', { destination: dest });
      c.send(frame('SEND', { destination: dest, 'x-tag': 'v10', x: 'a\\tb' }, 'x'));
      const m = await messageTagged(c, 'v10');
      assert.equal(header(m, 'x'), 'a\\tb');
      assert.equal(header(m, 'subscription'), dest);
      assert.equal(await connectedVersion(t, { host: '/' }, 'STOMP'), '1.0');
    });

    test(`#26 the highest common version is chosen (${t})`, async () => {
      const cases: [string, string][] = [
        ['1.0,1.1,2.0', '1.1'],
        ['1.0,1.1,1.2,2.0', '1.2'],
        ['2.0,1.2', '1.2'],
        ['1.0,1.2', '1.2'],
        ['1.2,1.0', '1.2'],
        ['1.1,1.0', '1.1'],
        ['1.0', '1.0'],
        ['0.9,1.0', '1.0'],
      ];
      for (const [accept, version] of cases) {
        assert.equal(await connectedVersion(t, { 'accept-version': accept, host: '/' }), version, accept);
      }
    });

    test(`#27 no common version: ERROR with a version header listing what is supported, then the close (${t})`, async () => {
      for (const accept of ['3.0', '2.0,3.0', '1.3', '1']) {
        const e = await refused(broker(), frame('CONNECT', { 'accept-version': accept, host: '/' }), 'unsupported protocol version', { kind: t, connect: false });
        assert.equal(header(e, 'version'), '1.0,1.1,1.2');
        assert.equal(header(e, 'content-type'), 'text/plain;charset=utf-8');
        assert.ok(bodyText(e).includes(accept), bodyText(e));
      }
    });
  }

  test('#20 a stompjs client refused for an unknown host sees the ERROR, then its WebSocket closes', async () => {
    const client = new Client({ brokerURL: broker().wsUrl, reconnectDelay: 0, debug: () => {}, connectHeaders: { host: 'nowhere.example' } });
    const refusal = new Promise<string | undefined>((resolve) => (client.onStompError = (f) => resolve(f.headers['message'])));
    const closed = new Promise<void>((resolve) => (client.onWebSocketClose = () => resolve()));
    client.activate();
    assert.equal(await refusal, 'unknown virtual host');
    await closed;
    assert.equal(client.connected, false);
    await client.deactivate();
  });

  test('#23 #26 stompjs over WebSocket: connectedVersion follows what the client offers', async () => {
    for (const [offer, version] of [[['1.2', '1.1', '1.0'], '1.2'], [['1.1', '1.0'], '1.1'], [['1.0'], '1.0']] as const) {
      const client = await stompjs({ stompVersions: new Versions([...offer]) });
      assert.equal(client.connectedVersion, version);
    }
  });

  test('#26 WebSocket subprotocol: the highest offered STOMP subprotocol is selected', async () => {
    const cases: [string[], string][] = [
      [['v10.stomp', 'v11.stomp', 'v12.stomp'], 'v12.stomp'],
      [['v10.stomp', 'v11.stomp'], 'v11.stomp'],
      [['v10.stomp'], 'v10.stomp'],
    ];
    for (const [offered, chosen] of cases) {
      const c = await RawClient.ws(broker().wsUrl, offered);
      assert.equal(c.protocol, chosen);
      c.close();
    }
  });
});

describe('conformance: refusals at connection limits (#20)', () => {
  const MAX_CONNECTIONS = 3;
  const { broker, connectRaw, openRaw } = useBroker({ env: { STOMPEDE_MAX_CONNECTIONS: String(MAX_CONNECTIONS), STOMPEDE_CONNECT_TIMEOUT_MS: '1000' } });
  const connections = (): Promise<number> => metric(broker(), 'stompede_connections');

  test('#20 over maxConnections a new connection gets ERROR "too many connections", then the close', async () => {
    const held: RawClient[] = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) held.push(await connectRaw(TRANSPORTS[i % 2]!));
    for (const t of TRANSPORTS) {
      // Refused on arrival, before it sends anything.
      const c = await openRaw(t);
      const e = await expectErrorThenClose(c, 'too many connections');
      assert.ok(bodyText(e).includes('(maxConnections)'), bodyText(e));
    }
    held.pop()!.close();
    await eventually(async () => (await connections()) === MAX_CONNECTIONS - 1, async () => `stompede_connections ${await connections()}`);
    const again = await connectRaw('tcp');
    assert.equal(header(again.frames[0]!, 'version'), '1.2');
    for (const c of [...held, again]) c.close();
    await eventually(async () => (await connections()) === 0, async () => `stompede_connections ${await connections()}`);
  });

  for (const t of TRANSPORTS) {
    test(`#20 no CONNECT within connectTimeoutMs gives ERROR "connect timeout", then the close (${t})`, async () => {
      const c = await openRaw(t);
      const e = await expectErrorThenClose(c, 'connect timeout');
      assert.ok(bodyText(e).includes('(connectTimeoutMs)'), bodyText(e));
    });
  }
});
