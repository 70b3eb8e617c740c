// A node whose Redis is not there yet when it starts (STOMPEDE_REDIS_START_TIMEOUT_MS): it keeps
// trying and says why, serves once Redis answers, and past the deadline stops with the reason.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { freePort, runBroker } from './helpers/broker-process.js';
import { startClusterNode, type ClusterNode } from './helpers/cluster.js';
import { eventually } from './helpers/expect.js';
import { redisNotRestartable, redisUnavailable, startRedis, type RedisHandle } from './helpers/redis-server.js';
import { connectStompjs, Inbox, publishAll, range, subscribed } from './helpers/stompjs.js';

const RETRYING = 'Redis not reachable yet: retrying until the start deadline';

describe('a node started before its Redis', { skip: redisUnavailable() ?? redisNotRestartable() }, () => {
  let redis: RedisHandle | undefined;
  let node: ClusterNode | undefined;
  after(async () => {
    await node?.stop();
    await redis?.stop();
  });

  test('waits for it, logging why, and serves once it is up', async () => {
    redis = await startRedis({ name: 'late redis' });
    await redis.stop();
    let printed = '';
    const starting = startClusterNode('node-late', redis.brokerEnv(), { STOMPEDE_REDIS_START_TIMEOUT_MS: '60000' }, 70_000, {
      onOutput: (output) => (printed = output),
    });
    starting.catch(() => {}); // awaited below; a failure before then must not go unhandled
    await eventually(() => printed.includes(RETRYING) && printed.includes('ECONNREFUSED'), () => `the node did not log its retries:\n${printed}`, 30_000);
    await redis.start();
    node = await starting;
    const client = await connectStompjs(node.wsUrl);
    const inbox = new Inbox();
    await subscribed(client, '/topic/late', inbox.push);
    await publishAll(client, '/topic/late', range(3));
    assert.deepEqual((await inbox.until(3)).map((m) => m.body), range(3));
    await client.deactivate();
  });
});

test('a node whose Redis never answers stops at the start deadline with the reason', { skip: redisUnavailable() ?? redisNotRestartable() }, async () => {
  // A port nothing listens on: the redis-server this suite started and stopped.
  const gone = await startRedis({ name: 'gone redis' });
  await gone.stop();
  const { code, output } = await runBroker([], {
    ...gone.brokerEnv(),
    STOMPEDE_REDIS_START_TIMEOUT_MS: '1500',
    STOMPEDE_WS_PORT: String(await freePort()),
    STOMPEDE_TCP_PORT: String(await freePort()),
    STOMPEDE_ADMIN_PORT: '0',
  });
  assert.equal(code, 1, output);
  assert.match(output, /"msg":"cannot start"/, output);
  assert.match(output, /Redis not ready within 1500 ms: connect ECONNREFUSED/, output);
  assert.ok(output.includes(RETRYING), output);
});
