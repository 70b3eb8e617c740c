// STOMPEDE_REDIS_URL as ioredis receives it: a single URL is ioredis's to read; several are Redis
// Cluster seeds, whose scheme (TLS), credentials, database and ?options must agree and reach the
// connection to every node. redis-tls.test.ts connects for real.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { openConnection } from '../src/redis/connection.js';
import { clusterSeeds, redisUrlProblem } from '../src/redis/urls.js';

function opened(urls: string[]): Redis | Cluster {
  const conn = openConnection(urls, 'test', 'commands', 1000);
  conn.disconnect();
  return conn;
}

describe('Redis URLs', () => {
  test('a single rediss:// URL: ioredis connects with TLS, its credentials and database', () => {
    const conn = opened(['rediss://alice:p%40ss@redis.example:6380/2']);
    assert.ok(conn instanceof Redis);
    assert.equal(conn.options.tls, true);
    assert.deepEqual([conn.options.host, conn.options.port, conn.options.username, conn.options.password, conn.options.db], ['redis.example', 6380, 'alice', 'p@ss', 2]);
  });

  test('rediss:// seeds: every node connection uses TLS, checked against the seed host', () => {
    const conn = opened(['rediss://:s3cret@redis-0.example:6380', 'rediss://:s3cret@redis-1.example']);
    assert.ok(conn instanceof Cluster);
    const options = conn.options.redisOptions!;
    assert.deepEqual(options.tls, { servername: 'redis-0.example' });
    assert.equal(options.password, 's3cret');
    assert.equal(options.username, undefined);
    assert.equal(options.connectionName, 'test', 'the node options keep the connection defaults');
    assert.deepEqual(clusterSeeds(['rediss://:s3cret@redis-0.example:6380', 'rediss://:s3cret@redis-1.example']).seeds, [
      { host: 'redis-0.example', port: 6380 },
      { host: 'redis-1.example', port: 6379 },
    ]);
  });

  test('seeds given as IPs: TLS without a server name (the certificate must name the IPs)', () => {
    assert.deepEqual(clusterSeeds(['rediss://10.0.0.11:6380', 'rediss://[fd00::12]:6380']).redisOptions.tls, {});
    assert.deepEqual(clusterSeeds(['rediss://10.0.0.11:6380', 'rediss://[fd00::12]:6380']).seeds[1], { host: 'fd00::12', port: 6380 });
  });

  test('redis:// seeds: no TLS; credentials decoded; ?options reach every node', () => {
    const { redisOptions } = clusterSeeds(['redis://ops:a%2Fb@10.0.0.11:6379?family=6&connectionName=x', 'redis://ops:a%2Fb@10.0.0.12:6379?family=6&connectionName=x']);
    assert.equal(redisOptions.tls, undefined);
    assert.deepEqual([redisOptions.username, redisOptions.password, redisOptions.family, redisOptions.connectionName], ['ops', 'a/b', 6, 'x']);
    assert.deepEqual(clusterSeeds(['redis://a:1/0', 'redis://b:2/']).redisOptions, {}, 'database 0 written out is fine');
  });

  test('seeds that disagree are refused, naming them without their passwords', () => {
    const problems: [string[], RegExp][] = [
      [['redis://a:1', 'rediss://b:2'], /^Redis Cluster seeds must all be redis:\/\/ or all rediss:\/\/ \(TLS\): redis:\/\/a:1 is redis:\/\/, rediss:\/\/b:2 is rediss:\/\/$/],
      [['rediss://:pw1@a:1', 'rediss://:pw2@b:2'], /same username and password .*: rediss:\/\/b:2 differs from rediss:\/\/a:1$/],
      [['redis://:pw@a:1', 'redis://b:2'], /same username and password/],
      [['redis://u:pw@a:1', 'redis://v:pw@b:2'], /same username and password/],
      [['redis://a:1?family=6', 'redis://b:2'], /same \?options: redis:\/\/b:2 differs/],
      [['redis://a:1', 'redis://b:2/3'], /^redis:\/\/b:2: a Redis Cluster has only database 0, the seed names database 3$/],
    ];
    for (const [urls, expected] of problems) {
      const problem = redisUrlProblem(urls);
      assert.match(problem ?? '', expected, urls.join(','));
      assert.doesNotMatch(problem!, /pw/, 'no password in the message');
      assert.throws(() => openConnection(urls, 'test', 'commands', 1000), (err: Error) => err.message === `STOMPEDE_REDIS_URL: ${problem}`);
    }
  });

  test('every URL needs a host and a database number for a path, one URL or several', () => {
    assert.equal(redisUrlProblem(['redis://h:1/2']), undefined);
    assert.match(redisUrlProblem(['redis://h:1/db2']) ?? '', /redis:\/\/h:1: the path must be a database number, got "\/db2"/);
    assert.match(redisUrlProblem(['redis://h:1', 'redis://:pw@']) ?? '', /^entry 2 is not a redis:\/\/ or rediss:\/\/ URL with a host$/);
    assert.match(redisUrlProblem(['http://h:1']) ?? '', /^entry 1 is not/);
  });
});
