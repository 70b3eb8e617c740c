// The broker as a process: refusing the uWS JavaScript fallback, settings validation and precedence,
// --help, switching TCP off, and a clean SIGTERM shutdown that tells connected clients.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { SETTINGS } from '@stompede/broker';
import { freePort, runBroker, startBroker } from './helpers/broker-process.js';
import { bodyText, header, RawClient } from './helpers/raw-client.js';
import { connectStompjs } from './helpers/stompjs.js';

/** Ports of the TCP sockets process `pid` is listening on (Linux /proc). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is "ADDR:PORT" in hex, st 0A is LISTEN, column 9 the inode.
      if (cols.length > 9 && cols[3] === '0A' && inodes.has(cols[9]!)) ports.push(Number.parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return ports.sort((a, b) => a - b);
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function freePorts(): Promise<Record<string, string>> {
  return { STOMPEDE_BIND: '127.0.0.1', STOMPEDE_WS_PORT: String(await freePort()), STOMPEDE_TCP_PORT: String(await freePort()), STOMPEDE_ADMIN_PORT: String(await freePort()) };
}

describe('starting the broker process', () => {
  test('the uWS JavaScript fallback makes the broker refuse to start (exit 1, says why)', async () => {
    const { code, output } = await runBroker([], { ...(await freePorts()), UWS_USE_FALLBACK: '1' });
    assert.equal(code, 1, output);
    assert.match(output, /fallback/i);
    assert.match(output, /UWS_USE_FALLBACK/);
    assert.doesNotMatch(output, /stompede listening/);
  });

  test('an invalid setting exits 2 and names the env var', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ STOMPEDE_WS_PORT: 'abc' }, /STOMPEDE_WS_PORT.*abc/],
      [{ STOMPEDE_SLOW_CONSUMER_POLICY: 'x' }, /STOMPEDE_SLOW_CONSUMER_POLICY.*"x"/],
      [{ STOMPEDE_MAX_FRAME_BYTES: '-1' }, /STOMPEDE_MAX_FRAME_BYTES/],
      [{ STOMPEDE_TCP_PORT: '70000' }, /STOMPEDE_TCP_PORT.*70000/],
      [{ STOMPEDE_WS_PATH: 'ws' }, /STOMPEDE_WS_PATH/],
    ];
    for (const [env, expected] of cases) {
      const { code, output } = await runBroker([], { ...(await freePorts()), ...env });
      assert.equal(code, 2, `${JSON.stringify(env)}: ${output}`);
      assert.match(output, expected);
      assert.doesNotMatch(output, /stompede listening/);
    }
    // Every problem is reported at once.
    const both = await runBroker([], { ...(await freePorts()), STOMPEDE_WS_PORT: 'abc', STOMPEDE_MAX_HEADERS: 'many' });
    assert.equal(both.code, 2);
    assert.match(both.output, /STOMPEDE_WS_PORT/);
    assert.match(both.output, /STOMPEDE_MAX_HEADERS/);
  });

  test('an invalid or unknown flag exits 2 and names the flag', async () => {
    const bad = await runBroker(['--max-frame-bytes', '12'], await freePorts());
    assert.equal(bad.code, 2, bad.output);
    assert.match(bad.output, /--max-frame-bytes/);
    const unknown = await runBroker(['--no-such-setting', '1'], await freePorts());
    assert.equal(unknown.code, 2, unknown.output);
    assert.match(unknown.output, /no-such-setting/);
  });

  test('a flag overrides its env var', async () => {
    const flagPort = await freePort();
    // The env has an unusable policy and another port: the flags must win for the node to start there.
    const broker = await startBroker({
      env: { STOMPEDE_SLOW_CONSUMER_POLICY: 'x' },
      args: ['--ws-port', String(flagPort), '--slow-consumer-policy', 'drop'],
    });
    try {
      assert.notEqual(flagPort, broker.wsPort);
      assert.equal((await fetch(`http://127.0.0.1:${flagPort}/healthz`)).status, 200);
      assert.equal(await accepts(broker.wsPort), false, 'nothing listens on the env var port');
      const c = await RawClient.ws(`ws://127.0.0.1:${flagPort}/ws`);
      await c.connect();
      await c.sendWithReceipt('SEND', { destination: '/topic/flag' }, 'on the flag port');
      c.close();
    } finally {
      await broker.stop();
    }
  });

  test('--help lists every setting with its env var and flag, and exits 0', async () => {
    const { code, output } = await runBroker(['--help']);
    assert.equal(code, 0, output);
    assert.ok(SETTINGS.length >= 30);
    for (const s of SETTINGS) {
      assert.ok(output.includes(s.env), `--help names ${s.env}`);
      assert.ok(output.includes(s.flag), `--help names ${s.flag}`);
    }
    for (const env of ['STOMPEDE_MAX_FRAME_BYTES', 'STOMPEDE_SLOW_CONSUMER_POLICY', 'STOMPEDE_CONNECT_TIMEOUT_MS', 'STOMPEDE_TCP_PORT']) {
      assert.ok(output.includes(env), env);
    }
    assert.doesNotMatch(output, /stompede listening/);
  });

  test('STOMPEDE_TCP_PORT=0 switches TCP off, STOMPEDE_ADMIN_PORT=0 the admin API; WebSocket still serves', async () => {
    const normal = await startBroker();
    try {
      assert.deepEqual(listeningPorts(normal.pid), [normal.wsPort, normal.tcpPort, normal.adminPort].sort((a, b) => a - b));
    } finally {
      await normal.stop();
    }
    const broker = await startBroker({ env: { STOMPEDE_TCP_PORT: '0', STOMPEDE_ADMIN_PORT: '0' } });
    try {
      assert.deepEqual(listeningPorts(broker.pid), [broker.wsPort], 'only the WebSocket port listens');
      assert.match(broker.output(), /"admin":"off"/);
      assert.match(broker.output(), /"tcp":"off"/);
      assert.equal(await accepts(broker.tcpPort), false);
      const c = await RawClient.ws(broker.wsUrl);
      await c.connect();
      await c.sendWithReceipt('SEND', { destination: '/topic/no-tcp' }, 'ws only');
      c.close();
    } finally {
      await broker.stop();
    }
  });
});

describe('SIGTERM', () => {
  test('connected clients get ERROR "node draining" (a drain with no grace or window here), then the process exits 0', async () => {
    const broker = await startBroker();
    const tcp = await RawClient.tcp(broker.tcpPort);
    await tcp.connect();
    await tcp.sendWithReceipt('SUBSCRIBE', { id: 's', destination: '/queue/sigterm' });
    const ws = await RawClient.ws(broker.wsUrl);
    await ws.connect({ 'accept-version': '1.1' });
    const unconnected = await RawClient.tcp(broker.tcpPort);
    const stompjs = await connectStompjs(broker.wsUrl);
    const stompjsErrors: string[] = [];
    stompjs.onStompError = (f) => stompjsErrors.push(f.headers['message'] ?? '');
    // A client that has stopped reading must not hold the shutdown up.
    const stalled = await RawClient.tcp(broker.tcpPort);
    await stalled.connect();
    stalled.pause();

    const code = await broker.stop();
    assert.equal(code, 0, broker.output());
    for (const c of [tcp, ws, unconnected]) {
      const e = await c.waitForCommand('ERROR', 10_000);
      assert.equal(header(e, 'message'), 'node draining');
      assert.equal(header(e, 'x-draining'), 'true');
      assert.ok(bodyText(e).length > 0);
      await c.waitClosed(10_000);
      assert.equal(c.frames.at(-1), e, 'the ERROR is the last frame');
    }
    const deadline = Date.now() + 10_000;
    while (stompjsErrors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(stompjsErrors, ['node draining']);
    await stompjs.deactivate();
    stalled.close();
  });
});
