// CI smoke runs of the single-node scenarios: the driver's command line, exactly as a user runs
// it, against a real embedded broker, with the scenario files' smoke profile. Also a run whose
// thresholds must fail, so a passing run means something.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBroker, type BrokerHandle } from '../../services/broker/test/helpers/broker-process.js';
import type { RunResult } from '../driver/run.js';
import { driver } from './driver-cli.js';

const failed = (r: RunResult | undefined): string => JSON.stringify(r?.thresholds.filter((t) => !t.ok) ?? r, null, 1);

describe('the load driver against one node', () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker({ env: { STOMPEDE_LOG_LEVEL: 'info' }, timeoutMs: 30_000 });
  });
  after(() => broker.stop());

  test('fanout: every subscriber gets every message once, over two worker processes', async () => {
    const { code, result, stderr } = await driver(['fanout', '--urls', broker.wsUrl, '--profile', 'smoke', '--procs', '2']);
    assert.equal(code, 0, `${failed(result)}\n${stderr}`);
    const subscribers = result!.params['subscribers'] as number;
    assert.equal(result!.metrics['stomp_delivered']!['count'], subscribers * result!.metrics['stomp_published']!['count']!);
    assert.equal(result!.clientCpu.processes, 3);
    assert.ok(result!.clientCpu.seconds > 0, 'the driver reports its own CPU');
    assert.ok(result!.thresholds.length >= 6 && result!.thresholds.every((t) => t.ok));
  });

  test('queue: every message acked exactly once, spread over the consumers', async () => {
    const { code, result, stderr } = await driver(['queue', '--urls', broker.wsUrl, '--profile', 'smoke']);
    assert.equal(code, 0, `${failed(result)}\n${stderr}`);
    assert.equal(result!.metrics['queue_acked']!['count'], result!.params['messages']);
    assert.equal(result!.metrics['queue_lost']!['count'], 0);
  });

  test('connection-storm: every connection comes and goes', async () => {
    const { code, result, stderr } = await driver(['connection-storm', '--urls', broker.wsUrl, '--profile', 'smoke']);
    assert.equal(code, 0, `${failed(result)}\n${stderr}`);
    const expected = (result!.params['connectsPerSec'] as number) * (result!.params['durationSec'] as number);
    assert.equal(result!.metrics['stomp_connects']!['count'], expected);
  });

  test('bad usage is refused with exit code 2 and a message', async () => {
    const unknown = await driver(['no-such-scenario', '--urls', broker.wsUrl]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no scenario "no-such-scenario" \(there are: .*fanout/);
    const badSet = await driver(['fanout', '--urls', broker.wsUrl, '--set', 'nonsense=1']);
    assert.equal(badSet.code, 2);
    assert.match(badSet.stderr, /has no parameter "nonsense"/);
  });
});

describe('a run that crosses its thresholds fails', () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker({ env: { STOMPEDE_LOG_LEVEL: 'info', STOMPEDE_MAX_CONNECTIONS: '3' }, timeoutMs: 30_000 });
  });
  after(() => broker.stop());

  test('connection-storm against a node that takes 3 connections: exit 1, stomp_connect_errors crossed', async () => {
    const { code, result, stderr } = await driver(['connection-storm', '--urls', broker.wsUrl, '--profile', 'smoke', '--set', 'holdMs=1000']);
    assert.equal(code, 1, stderr);
    const crossed = result!.thresholds.filter((t) => !t.ok).map((t) => `${t.metric} ${t.expression}`);
    assert.ok(crossed.includes('stomp_connect_errors count==0'), crossed.join(', '));
    assert.ok(result!.metrics['stomp_connect_errors']!['count']! > 0);
  });
});
