// TLS: --ca trusts a server certificate, --cert/--key present a client certificate (mTLS), and
// --tls alone trusts only the system roots. Certificates are made by the openssl command.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ServerCredentials } from '@grpc/grpc-js';
import { runCtl } from './helpers/ctl.js';
import { answer, startFakeAdmin, type FakeAdmin } from './helpers/fake-admin.js';

const directory = mkdtempSync(join(tmpdir(), 'stompede-ctl-tls-'));

/** A self-signed certificate (its own CA) for 127.0.0.1; returns the paths of its PEM files. */
function selfSigned(name: string): { cert: string; key: string } {
  const cert = join(directory, `${name}.pem`);
  const key = join(directory, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key };
}

function opensslMissing(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
}

describe('TLS', { skip: opensslMissing() && 'the openssl command is not installed' }, () => {
  let admin: FakeAdmin;
  let server: { cert: string; key: string };
  let client: { cert: string; key: string };

  before(async () => {
    server = selfSigned('stompede-test-node');
    client = selfSigned('stompede-test-operator');
    const credentials = ServerCredentials.createSsl(
      readFileSync(client.cert),
      [{ cert_chain: readFileSync(server.cert), private_key: readFileSync(server.key) }],
      true,
    );
    admin = await startFakeAdmin({ listNodes: answer(() => ({ nodes: [] })) }, credentials);
  });
  after(() => admin.stop());

  test('--ca with --cert and --key: mTLS, and the token still travels', async () => {
    const args = ['--server', admin.address, '--ca', server.cert, '--cert', client.cert, '--key', client.key, '--token', 't0k'];
    const result = await runCtl([...args, 'nodes']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(admin.calls.at(-1)?.authorization, 'Bearer t0k');
  });

  test('a server certificate outside the system roots is refused with --tls alone (exit 3)', async () => {
    const calls = admin.calls.length;
    const result = await runCtl(['--server', admin.address, '--tls', '--cert', client.cert, '--key', client.key, 'nodes']);
    assert.equal(result.code, 3, result.stderr);
    assert.equal(admin.calls.length, calls, 'no call got through');
  });

  test('without a client certificate the mTLS server lets no call through (a failed handshake is UNAVAILABLE: exit 3)', async () => {
    const calls = admin.calls.length;
    const result = await runCtl(['--server', admin.address, '--ca', server.cert, 'nodes']);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /certificate required/);
    assert.equal(admin.calls.length, calls);
  });

  test('no deprecation noise on stderr when the server is named by its IP address', async () => {
    const result = await runCtl(['--server', admin.address, '--ca', server.cert, '--cert', client.cert, '--key', client.key, 'nodes']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
  });

  test('a plaintext client gets nowhere with a TLS server (exit 3)', async () => {
    const result = await runCtl(['--server', admin.address, '--timeout', '2s', 'nodes']);
    assert.equal(result.code, 3, result.stderr);
  });
});
