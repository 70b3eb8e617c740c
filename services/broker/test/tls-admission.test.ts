// Per-address admission on the TLS port runs on the TCP connection, before any TLS handshake
// (docs/security.md, TLS), against a live node with STOMPEDE_MAX_CONNECTIONS_PER_IP=3: raw TCP
// sockets that never start a handshake hold their address's slots, so a real TLS client is then
// refused, closed at once with nothing sent back (no handshake, no ERROR), and counted in
// stompede_limit_hits_total. A slot comes back exactly once when its socket closes, whether the
// client closed it, its handshake failed, or the handshake deadline (STOMPEDE_CONNECT_TIMEOUT_MS)
// closed it. A node-wide cap on handshakes in progress (STOMPEDE_TLS_MAX_HANDSHAKES) refuses the same way.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { opensslMissing, TestCa } from './helpers/certs.js';
import { eventually } from './helpers/expect.js';
import { metric } from './helpers/metrics.js';
import { frame, RawClient } from './helpers/raw-client.js';
import { useBroker } from './helpers/suite.js';

const skip = opensslMissing();
const MAX = 3;
/** The handshake deadline; long enough that "closed at once" and "closed at the deadline" never meet. */
const HANDSHAKE_MS = 3000;
const ca = skip === undefined ? new TestCa() : undefined;
const cert = ca?.issue('server');
after(() => ca?.cleanup());

/** Resolves once `socket` is closed (fails after `timeoutMs`): how long that took from `since`, and the bytes it received. */
function closing(socket: Socket, since = Date.now(), timeoutMs = HANDSHAKE_MS + 10_000): Promise<{ afterMs: number; bytes: number }> {
  let bytes = 0;
  socket.on('data', (b: Buffer) => (bytes += b.length));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ afterMs: Date.now() - since, bytes });
    });
  });
}

/**
 * A node with TLS and MAX connections per address, and what its tests do with it. One per describe,
 * so that every test starts with all of 127.0.0.1's slots free.
 */
function useTlsBroker(env: Record<string, string> = {}) {
  const suite = useBroker({
    env: {
      ...(cert && { STOMPEDE_TLS_CERT: cert.cert, STOMPEDE_TLS_KEY: cert.key }),
      STOMPEDE_MAX_CONNECTIONS_PER_IP: String(MAX),
      STOMPEDE_CONNECT_TIMEOUT_MS: String(HANDSHAKE_MS),
      ...env,
    },
  });
  const held: { close(): void }[] = [];
  suite.defer(() => held.forEach((s) => s.close()));
  const port = (): number => suite.broker().tlsPort;
  const count = (name: string, labels?: Record<string, string>): Promise<number> => metric(suite.broker(), name, labels);

  /** A TLS client that completed its handshake and CONNECT; rejects if the port closes it first. */
  const tlsSession = async (): Promise<RawClient> => {
    const c = await RawClient.tls(port(), { ca: ca!.read(ca!.ca.cert) });
    held.push(c);
    await c.connect();
    return c;
  };

  /** Raw TCP connections to the TLS port that send nothing (no ClientHello). */
  const idleSockets = async (n: number): Promise<Socket[]> => {
    const sockets = Array.from({ length: n }, () => connect(port(), '127.0.0.1').on('error', () => {}));
    await Promise.all(sockets.map((s) => once(s, 'connect')));
    held.push(...sockets.map((s) => ({ close: () => s.destroy() })));
    return sockets;
  };

  /** A TLS session in a slot that may still be in the act of coming back (the client sees a close before the node does). */
  const sessionOnceFree = async (): Promise<void> => {
    await eventually(() => tlsSession().then(() => true, () => false), () => 'no slot came back');
  };

  /**
   * The address is full: a raw socket is closed at once with nothing sent back, and a TLS client
   * fails before its handshake completes; both count as maxConnectionsPerIp, neither as a failed
   * handshake, and neither opens a session.
   */
  const expectFull = async (limit = 'maxConnectionsPerIp'): Promise<void> => {
    const [hits, failures, opened] = await Promise.all([
      count('stompede_limit_hits_total', { limit }),
      count('stompede_tls_handshake_failures_total'),
      count('stompede_connections_opened_total'),
    ]);
    const probe = connect(port(), '127.0.0.1').on('error', () => {});
    const closed = closing(probe);
    await once(probe, 'connect');
    const { afterMs, bytes } = await closed;
    assert.equal(bytes, 0, 'nothing sent back: no handshake, no ERROR');
    assert.ok(afterMs < HANDSHAKE_MS, `closed at once, not by the handshake deadline (after ${afterMs} ms)`);
    await assert.rejects(RawClient.tls(port(), { ca: ca!.read(ca!.ca.cert) }), 'a TLS client never completes its handshake');
    assert.equal(await count('stompede_limit_hits_total', { limit }), hits + 2);
    assert.equal(await count('stompede_tls_handshake_failures_total'), failures);
    assert.equal(await count('stompede_connections_opened_total'), opened);
  };

  return { port, count, tlsSession, idleSockets, sessionOnceFree, expectFull };
}

describe('admission on the TLS port: sockets that never start a handshake', { skip }, () => {
  const node = useTlsBroker();

  test('hold their address\'s slots: a TLS client is refused before any handshake, and admitted again once they close', async () => {
    const idle = await node.idleSockets(MAX);
    await node.expectFull();
    idle.forEach((s) => s.destroy());
    // Every slot comes back, and no more than every slot: MAX sessions fit, the next is refused.
    for (let i = 0; i < MAX; i++) await node.sessionOnceFree();
    await node.expectFull();
  });
});

describe('admission on the TLS port: a failed handshake', { skip }, () => {
  const node = useTlsBroker();

  test('gives its slot back exactly once', async () => {
    await node.tlsSession();
    const failures = await node.count('stompede_tls_handshake_failures_total');
    // Plaintext STOMP on the TLS port, five times over (a try the node refused while it was still
    // releasing the previous one's slot is simply not counted).
    await eventually(async () => {
      const plain = await RawClient.tcp(node.port());
      plain.send(frame('CONNECT', { 'accept-version': '1.2', host: '/' }));
      await plain.waitClosed();
      assert.deepEqual(plain.frames, [], 'no STOMP answer over a failed handshake');
      return (await node.count('stompede_tls_handshake_failures_total')) >= failures + 5;
    }, () => 'failed handshakes not counted');
    // A slot released twice would let one session more in.
    for (let i = 1; i < MAX; i++) await node.sessionOnceFree();
    await node.expectFull();
  });
});

describe('admission on the TLS port: the handshake deadline', { skip }, () => {
  const node = useTlsBroker();

  test('closes a socket that never starts a handshake, and gives its slot back', async () => {
    const failures = await node.count('stompede_tls_handshake_failures_total');
    const start = Date.now();
    const idle = await node.idleSockets(MAX);
    const closed = idle.map((s) => closing(s, start));
    await node.expectFull();
    for (const { afterMs, bytes } of await Promise.all(closed)) {
      assert.equal(bytes, 0);
      assert.ok(afterMs >= HANDSHAKE_MS - 50, `closed by the node at the deadline, not before (after ${afterMs} ms)`);
    }
    await eventually(async () => (await node.count('stompede_tls_handshake_failures_total')) === failures + MAX, () => 'timed-out handshakes not counted');
    for (let i = 0; i < MAX; i++) await node.sessionOnceFree();
    await node.expectFull();
  });
});

describe('the cap on TLS handshakes in progress (STOMPEDE_TLS_MAX_HANDSHAKES), per node', { skip }, () => {
  // No per-address limit here: only the node-wide cap refuses.
  const node = useTlsBroker({ STOMPEDE_MAX_CONNECTIONS_PER_IP: '0', STOMPEDE_TLS_MAX_HANDSHAKES: String(MAX) });

  test('completed handshakes do not count; sockets that never finish one do, and past the cap a new one is closed before any handshake', async () => {
    for (let i = 0; i < MAX; i++) await node.tlsSession();
    const idle = await node.idleSockets(MAX);
    await node.expectFull('tlsMaxHandshakes');
    assert.equal(await node.count('stompede_limit_hits_total', { limit: 'maxConnectionsPerIp' }), 0);
    // One gives up: its place serves a new client, whose completed handshake leaves it free again.
    idle[0]!.destroy();
    await node.sessionOnceFree();
    await node.idleSockets(1);
    await node.expectFull('tlsMaxHandshakes');
  });
});
