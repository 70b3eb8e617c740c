// Choosing where test Redis comes from (STOMPEDE_TEST_REDIS_PROVIDER): the default, a clear error for
// a name it does not know or a conflicting setting, and that `testcontainers` really goes to a
// container (with Docker: one that answers PING; without: an error naming the provider, never a
// silent fall-back to redis-server).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { PROVIDER_ENV, redisNotRestartable, redisProvider, RedisProviderError, SHARED_URL_ENV, startRedisContainer } from './redis-provider.js';

describe('STOMPEDE_TEST_REDIS_PROVIDER', () => {
  test('defaults to redis-server processes', () => {
    assert.equal(redisProvider({}), 'process');
    assert.equal(redisProvider({ [PROVIDER_ENV]: '' }), 'process');
    assert.equal(redisProvider({ [PROVIDER_ENV]: 'process' }), 'process');
    assert.equal(redisNotRestartable({}), undefined);
  });

  test('names testcontainers, whose Redis tests cannot restart', () => {
    assert.equal(redisProvider({ [PROVIDER_ENV]: 'testcontainers' }), 'testcontainers');
    assert.match(redisNotRestartable({ [PROVIDER_ENV]: 'testcontainers' }) ?? '', /testcontainers Redis is not restarted/);
    assert.match(redisNotRestartable({ [SHARED_URL_ENV]: 'redis://10.0.0.1:6379' }) ?? '', /shared Redis/);
  });

  test('refuses a provider it does not know, naming the ones it does', () => {
    assert.throws(() => redisProvider({ [PROVIDER_ENV]: 'docker' }), (err: unknown) => {
      assert.ok(err instanceof RedisProviderError);
      assert.equal(err.message, 'STOMPEDE_TEST_REDIS_PROVIDER=docker is not a Redis provider for the tests: use process (a redis-server process per test file, the default) or testcontainers (a Docker container per test file)');
      return true;
    });
  });

  test('refuses testcontainers together with a shared STOMPEDE_TEST_REDIS_URL', () => {
    assert.throws(() => redisProvider({ [PROVIDER_ENV]: 'testcontainers', [SHARED_URL_ENV]: 'redis://127.0.0.1:6379' }), /both say where Redis is/);
  });

  test('testcontainers starts a Redis container, or says clearly that it could not', { timeout: 120_000 }, async () => {
    let container;
    try {
      container = await startRedisContainer();
    } catch (err) {
      // No Docker here (the default machine and CI): the error says which provider failed and why.
      assert.ok(err instanceof RedisProviderError, String(err));
      assert.match(err.message, /^STOMPEDE_TEST_REDIS_PROVIDER=testcontainers: could not start a redis:7\.2-bookworm container \(is Docker running\?\): ./);
      return;
    }
    try {
      const client = new Redis(container.url, { lazyConnect: true });
      await client.connect();
      assert.equal(await client.ping(), 'PONG');
      client.disconnect();
      assert.equal(await container.cli('PING'), 'PONG');
    } finally {
      await container.stop();
    }
  });
});
