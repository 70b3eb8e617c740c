// stompede-ctl against real broker nodes (two of them and Redis), run as a user runs it: the
// tables and JSON it prints, kick and drain doing what they say, and its exit codes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TEST_ADMIN_TOKEN } from '../../broker/test/helpers/broker-process.js';
import { useCluster } from '../../broker/test/helpers/cluster.js';
import { expectErrorThenClose } from '../../broker/test/helpers/expect.js';
import { header } from '../../broker/test/helpers/raw-client.js';
import { redisUnavailable } from '../../broker/test/helpers/redis-server.js';
import { runCtl, tableRows } from './helpers/ctl.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('stompede-ctl on a live cluster', { skip: redisUnavailable() }, () => {
  const cluster = useCluster({ nodes: 2 });
  const ctl = (args: readonly string[], env: Record<string, string> = {}) =>
    runCtl(['--server', cluster.node(0).adminAddress, ...args], { env: { STOMPEDE_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ...env } });

  test('nodes: a table for people, JSON for scripts', async () => {
    const table = await ctl(['nodes']);
    assert.equal(table.code, 0, table.stderr);
    assert.deepEqual(tableRows(table.stdout).map((r) => [r[0], r[1]]), [['node-a', 'serving'], ['node-b', 'serving']]);
    const json = await ctl(['--json', 'nodes']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { nodes: { id: string; state: string }[] };
    assert.deepEqual(parsed.nodes.map((n) => [n.id, n.state]), [['node-a', 'NODE_STATE_SERVING'], ['node-b', 'NODE_STATE_SERVING']]);
  });

  test('connections finds a client on the other node, and kick closes it with the reason', async () => {
    const victim = await cluster.connectRaw(1, 'tcp', { login: 'eve' });
    const listed = await ctl(['--json', 'connections', '--login', 'eve']);
    assert.equal(listed.code, 0, listed.stderr);
    const rows = (JSON.parse(listed.stdout) as { connections: { sessionId: string; nodeId: string }[] }).connections;
    assert.deepEqual(rows.map((r) => r.nodeId), ['node-b']);
    const kicked = await ctl(['kick', rows[0]!.sessionId, '--reason', 'ctl test']);
    assert.equal(kicked.code, 0, kicked.stderr);
    const e = await expectErrorThenClose(victim, 'closed by administrator');
    assert.equal(header(e, 'x-close-reason'), 'ctl test');
    const again = await ctl(['kick', rows[0]!.sessionId]);
    assert.equal(again.code, 1, 'NOT_FOUND is a plain failure');
    assert.match(again.stderr, /NOT_FOUND/);
  });

  test('drain --wait follows the drain to its end with plain lines when not on a terminal; undrain brings it back', async () => {
    const client = await cluster.connectRaw(1, 'ws');
    const drained = await ctl(['drain', 'node-b', '--grace', '100ms', '--window', '300ms', '--wait']);
    assert.equal(drained.code, 0, drained.stderr);
    assert.doesNotMatch(drained.stdout, /\u001b\[/, 'no terminal escape codes in a pipe');
    assert.match(drained.stdout, /drained/i);
    assert.equal(header(await client.waitForCommand('ERROR'), 'message'), 'node draining');
    const node = await ctl(['--json', 'node', 'node-b']);
    assert.equal((JSON.parse(node.stdout) as { node: { state: string } }).node.state, 'NODE_STATE_DRAINED');
    const undrain = await ctl(['undrain', 'node-b']);
    assert.equal(undrain.code, 0, undrain.stderr);
    assert.equal((await ctl(['undrain', 'node-b'])).code, 1, 'not draining any more');
  });

  test('exit codes: 4 refused by auth, 3 unreachable, 2 usage, 1 not found', async () => {
    const refused = await ctl(['nodes'], { STOMPEDE_ADMIN_TOKEN: 'not-the-token-at-all' });
    assert.equal(refused.code, 4, refused.stderr);
    const unreachable = await runCtl(['--server', '127.0.0.1:1', '--timeout', '2s', 'nodes'], { env: { STOMPEDE_ADMIN_TOKEN: TEST_ADMIN_TOKEN } });
    assert.equal(unreachable.code, 3, unreachable.stderr);
    assert.equal((await ctl(['frobnicate'])).code, 2);
    assert.equal((await ctl(['drain', 'node-a', '--window', 'soon'])).code, 2);
    assert.equal((await ctl(['node', 'node-zz'])).code, 1);
  });

  test('npx stompede-ctl works from the repository root', () => {
    const run = spawnSync('npx', ['--no-install', 'stompede-ctl', '--help'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /drain/);
  });
});
