// `drain` and `undrain`: the request, following the stream to DRAINED or CANCELLED with plain
// lines when stdout is not a terminal, JSON lines, and polling GetNode when a drain is under way.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import {
  DrainPhase, Node, NodeState, type DrainRequest, type DrainResponse, type GetNodeRequest, type UndrainRequest,
} from '@stompede/admin-api';
import { runCtl, startCtl } from './helpers/ctl.js';
import { answer, play, serviceError, startFakeAdmin, type FakeAdmin, type StreamLog, type StreamScript } from './helpers/fake-admin.js';
import { drainMessage, drainStatus } from './helpers/fixtures.js';

const { DRAIN_PHASE_GRACE: GRACE, DRAIN_PHASE_CLOSING: CLOSING, DRAIN_PHASE_DRAINED: DRAINED, DRAIN_PHASE_CANCELLED: CANCELLED } = DrainPhase;

/** What Drain does for each node id. */
function drainScript(request: DrainRequest): StreamScript<DrainResponse> {
  const id = request.nodeId;
  switch (id) {
    case 'node-ok':
      return {
        messages: [
          drainMessage(id, GRACE, 0, 40), drainMessage(id, CLOSING, 40, 40), drainMessage(id, CLOSING, 40, 40),
          drainMessage(id, CLOSING, 40, 12), drainMessage(id, DRAINED, 40, 0),
        ],
        then: 'stay open',
      };
    case 'node-undrained':
      return { messages: [drainMessage(id, GRACE, 0, 5), drainMessage(id, CANCELLED, 0, 5)], then: 'end' };
    case 'node-slow':
      return { messages: [drainMessage(id, GRACE, 0, 5)], then: 'stay open' };
    case 'node-gone':
      return { messages: [drainMessage(id, GRACE, 0, 5)], then: 'end' };
    default:
      return { messages: [], then: serviceError(status.FAILED_PRECONDITION, `${id} is already draining`) };
  }
}

/** What GetNode says about the nodes drained by someone else, poll after poll. */
const POLLED_STATES: Record<string, Node[]> = {
  'node-busy': [
    Node.fromPartial({ id: 'node-busy', state: NodeState.NODE_STATE_DRAINING, drain: drainStatus(CLOSING, 20, 10) }),
    Node.fromPartial({ id: 'node-busy', state: NodeState.NODE_STATE_DRAINING, drain: drainStatus(CLOSING, 20, 10) }),
    Node.fromPartial({ id: 'node-busy', state: NodeState.NODE_STATE_DRAINED, drain: drainStatus(DRAINED, 20, 0) }),
  ],
  'node-reverted': [
    Node.fromPartial({ id: 'node-reverted', state: NodeState.NODE_STATE_DRAINING, drain: drainStatus(GRACE, 0, 3) }),
    Node.fromPartial({ id: 'node-reverted', state: NodeState.NODE_STATE_SERVING }),
  ],
};

describe('drain and undrain', () => {
  let admin: FakeAdmin;
  const drainLog: StreamLog = { cancelled: 0 };

  before(async () => {
    const polls = new Map<string, number>();
    admin = await startFakeAdmin({
      drain: play(drainScript, drainLog),
      getNode: answer((request: GetNodeRequest) => {
        const states = POLLED_STATES[request.nodeId]!;
        const poll = polls.get(request.nodeId) ?? 0;
        polls.set(request.nodeId, poll + 1);
        return { node: states[Math.min(poll, states.length - 1)] };
      }),
      undrain: answer((request: UndrainRequest) =>
        request.nodeId === 'node-ok'
          ? { nodeId: request.nodeId, state: NodeState.NODE_STATE_SERVING }
          : serviceError(status.FAILED_PRECONDITION, `${request.nodeId} is not draining`)),
    });
  });
  after(() => admin.stop());

  test('without --wait: the first status, the stream cancelled, exit 0; grace and window sent', async () => {
    const result = await runCtl(['--server', admin.address, 'drain', 'node-ok', '--grace', '5s', '--window', '2m']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'node-ok: grace, 40 clients connected\n');
    const request = admin.requests<DrainRequest>('drain').at(-1)!;
    assert.deepEqual([request.nodeId, request.grace, request.window], ['node-ok', { seconds: 5, nanos: 0 }, { seconds: 120, nanos: 0 }]);
    const deadline = Date.now() + 5_000;
    while (drainLog.cancelled === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(drainLog.cancelled, 1, 'the server saw the stream cancelled');
  });

  test('without --grace and --window both are left unset (the node defaults apply)', async () => {
    const result = await runCtl(['--server', admin.address, 'drain', 'node-ok']);
    assert.equal(result.code, 0, result.stderr);
    const request = admin.requests<DrainRequest>('drain').at(-1)!;
    assert.deepEqual([request.grace, request.window], [undefined, undefined]);
  });

  test('--wait on a pipe: one plain line per change, exit 0 once DRAINED', async () => {
    const result = await runCtl(['--server', admin.address, 'drain', 'node-ok', '--wait']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, [
      'node-ok: grace, 40 clients connected',
      'node-ok: closing, 40 of 40 clients left',
      'node-ok: closing, 12 of 40 clients left',
      'node-ok: drained, 0 of 40 clients left',
      '',
    ].join('\n'));
    assert.doesNotMatch(result.stdout + result.stderr, /\x1b/, 'no escape codes');
  });

  test('--wait exits 1 when the drain is cancelled', async () => {
    const result = await runCtl(['--server', admin.address, 'drain', 'node-undrained', '--wait']);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /node-undrained: cancelled/);
    assert.match(result.stderr, /^stompede-ctl: drain cancelled$/m);
  });

  test('--wait exits 1 when the stream ends before the node drained', async () => {
    const result = await runCtl(['--server', admin.address, 'drain', 'node-gone', '--wait']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /ended before the node drained/);
  });

  test('Ctrl-C while following stops following, not the drain (exit 130)', async () => {
    const run = startCtl(['--server', admin.address, 'drain', 'node-slow', '--wait']);
    await run.waitFor((stdout) => stdout.includes('node-slow: grace'));
    run.child.kill('SIGINT');
    const result = await run.exited;
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /stopped following; the drain of node-slow goes on \(stompede-ctl undrain node-slow stops it\)/);
  });

  test('--wait --json prints one JSON object per stream message', async () => {
    const result = await runCtl(['--server', admin.address, '--json', 'drain', 'node-ok', '--wait']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { nodeId: string; status: Record<string, unknown> });
    assert.deepEqual(lines.map((line) => [line.status.phase, line.status.clientsLeft]), [
      ['DRAIN_PHASE_GRACE', 40], ['DRAIN_PHASE_CLOSING', 40], ['DRAIN_PHASE_CLOSING', 40], ['DRAIN_PHASE_CLOSING', 12], ['DRAIN_PHASE_DRAINED', undefined],
    ]);
    assert.ok(lines.every((line) => line.nodeId === 'node-ok'));
  });

  test('already draining with --wait: says so and polls GetNode until DRAINED (exit 0)', async () => {
    const result = await runCtl(['--server', admin.address, 'drain', 'node-busy', '--wait']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /node-busy is already draining/);
    assert.equal(result.stdout, 'node-busy: closing, 10 of 20 clients left\nnode-busy: drained, 0 of 20 clients left\n');
    const polls = admin.requests<GetNodeRequest>('getNode').filter((request) => request.nodeId === 'node-busy');
    assert.equal(polls.length, 3);
  });

  test('already draining with --wait, then serving again: drain cancelled (exit 1)', async () => {
    const result = await runCtl(['--server', admin.address, 'drain', 'node-reverted', '--wait']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /node-reverted is already draining/);
    assert.match(result.stderr, /stompede-ctl: drain cancelled/);
  });

  test('already draining without --wait is a failure (exit 1) with the server details', async () => {
    const result = await runCtl(['--server', admin.address, 'drain', 'node-other']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^stompede-ctl: FAILED_PRECONDITION: node-other is already draining/);
  });

  test('undrain prints the new state; undraining a serving node exits 1', async () => {
    const plain = await runCtl(['--server', admin.address, 'undrain', 'node-ok']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, 'node-ok: serving\n');
    const json = await runCtl(['--server', admin.address, '--json', 'undrain', 'node-ok']);
    assert.deepEqual(JSON.parse(json.stdout), { nodeId: 'node-ok', state: 'NODE_STATE_SERVING' });
    const refused = await runCtl(['--server', admin.address, 'undrain', 'node-idle']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /FAILED_PRECONDITION: node-idle is not draining/);
  });
});
