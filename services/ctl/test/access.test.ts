// Reaching the server: address and token from flags, files and environment; what each kind of
// failure exits with (3 unreachable, 4 refused by auth, 2 usage).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { runCtl } from './helpers/ctl.js';
import { answer, fail, startFakeAdmin, type FakeAdmin } from './helpers/fake-admin.js';

async function listen(server: NetServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

describe('reaching the admin API', () => {
  let admin: FakeAdmin;
  const directory = mkdtempSync(join(tmpdir(), 'stompede-ctl-'));
  const tokenFile = join(directory, 'token');
  writeFileSync(tokenFile, '  from-the-file\n');

  before(async () => {
    admin = await startFakeAdmin({ listNodes: answer(() => ({ nodes: [] })) });
  });
  after(() => admin.stop());

  async function authorizationFor(args: string[], env: Record<string, string> = {}): Promise<string | undefined> {
    const result = await runCtl([...args, 'nodes'], { env: { STOMPEDE_ADMIN_ADDR: admin.address, ...env } });
    assert.equal(result.code, 0, result.stderr);
    return admin.calls.at(-1)!.authorization;
  }

  test('the token reaches the server as a bearer token, from each source', async () => {
    assert.equal(await authorizationFor(['--token', 'from-the-flag']), 'Bearer from-the-flag');
    assert.equal(await authorizationFor([], { STOMPEDE_ADMIN_TOKEN: 'from-the-env' }), 'Bearer from-the-env');
    assert.equal(await authorizationFor(['--token-file', tokenFile]), 'Bearer from-the-file');
    assert.equal(await authorizationFor([], { STOMPEDE_ADMIN_TOKEN_FILE: tokenFile }), 'Bearer from-the-file');
    assert.equal(await authorizationFor([]), undefined);
  });

  test('flags beat the environment, and --token beats --token-file', async () => {
    assert.equal(await authorizationFor(['--token', 'flag'], { STOMPEDE_ADMIN_TOKEN: 'env' }), 'Bearer flag');
    assert.equal(await authorizationFor(['--token-file', tokenFile], { STOMPEDE_ADMIN_TOKEN: 'env' }), 'Bearer from-the-file');
    assert.equal(await authorizationFor(['--token', 'flag', '--token-file', tokenFile]), 'Bearer flag');
  });

  test('--server beats STOMPEDE_ADMIN_ADDR', async () => {
    const result = await runCtl(['--server', admin.address, 'nodes'], { env: { STOMPEDE_ADMIN_ADDR: '127.0.0.1:1' } });
    assert.equal(result.code, 0, result.stderr);
  });

  test('UNAUTHENTICATED and PERMISSION_DENIED exit 4', async () => {
    for (const code of [status.UNAUTHENTICATED, status.PERMISSION_DENIED]) {
      const refusing = await startFakeAdmin({ listNodes: fail(code, 'bad token') });
      try {
        const result = await runCtl(['--server', refusing.address, '--token', 'wrong', 'nodes']);
        assert.equal(result.code, 4, result.stderr);
        assert.match(result.stderr, new RegExp(`^stompede-ctl: ${status[code]}: bad token`));
        assert.equal(result.stdout, '');
      } finally {
        await refusing.stop();
      }
    }
  });

  test('nothing listening on the port exits 3', async () => {
    const server = createServer();
    const port = await listen(server);
    server.close();
    await once(server, 'close');
    const result = await runCtl(['--server', `127.0.0.1:${port}`, 'nodes']);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /^stompede-ctl: UNAVAILABLE: /);
  });

  test('a server that accepts but never answers exits 3 once --timeout has passed', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    const port = await listen(silent);
    try {
      for (const command of [['nodes'], ['stats'], ['drain', 'node-1']]) {
        const result = await runCtl(['--server', `127.0.0.1:${port}`, '--timeout', '300ms', ...command]);
        assert.equal(result.code, 3, `${command.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, /DEADLINE_EXCEEDED/);
      }
      assert.ok(sockets.length > 0, 'the CLI connected');
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  test('usage errors exit 2 with a message on stderr', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['nodes', '--colour'], /unknown option '--colour'/],
      [['node'], /missing required argument 'id'/],
      [['--timeout', 'soon', 'nodes'], /--timeout.*'soon' is invalid/],
      [['--timeout', '0', 'nodes'], /--timeout/],
      [['drain', 'node-1', '--grace', '5 minutes'], /--grace/],
      [['stats', '--names', ','], /--names/],
      [['--token-file', join(directory, 'missing'), 'nodes'], /cannot read --token-file/],
      [['--cert', tokenFile, 'nodes'], /--cert and --key go together/],
      [[], /Usage: stompede-ctl/],
    ];
    for (const [args, message] of cases) {
      const result = await runCtl(['--server', admin.address, ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
      assert.equal(result.stdout, '', args.join(' '));
    }
  });

  test('--help works for the program and each command, and exits 0', async () => {
    const program = await runCtl(['--help']);
    assert.equal(program.code, 0);
    for (const command of ['nodes', 'node', 'connections', 'kick', 'destinations', 'destination', 'drain', 'undrain', 'stats']) {
      assert.match(program.stdout, new RegExp(`^  ${command}\\b`, 'm'), `${command} is listed`);
      const result = await runCtl([command, '--help']);
      assert.equal(result.code, 0, `${command} --help: ${result.stderr}`);
      assert.match(result.stdout, new RegExp(`^Usage: stompede-ctl ${command}\\b`), command);
    }
    assert.match(program.stdout, /Exit codes: 0 ok/);
  });
});
