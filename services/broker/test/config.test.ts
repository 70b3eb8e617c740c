// Settings are parsed once, at start, into one typed object: in-process checks of that parsing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig, sessionConfig, SETTINGS } from '@stompede/broker';
import { DEFAULT_SESSION_CONFIG } from '@stompede/session';

describe('configuration', () => {
  test('defaults give every field the session layer needs, as documented', () => {
    const { config } = parseConfig([], {});
    const session = sessionConfig(config, '9.9.9');
    for (const key of Object.keys(DEFAULT_SESSION_CONFIG)) {
      assert.notEqual((session as unknown as Record<string, unknown>)[key], undefined, `${key} has no value`);
    }
    assert.equal(session.serverName, 'Stompede/9.9.9');
    assert.equal(config.wsPort, 15674);
    assert.equal(config.wsPath, '/ws');
    assert.equal(config.tcpPort, 61613);
    assert.equal(config.bind, '0.0.0.0');
    assert.equal(config.logLevel, 'info');
    assert.deepEqual(config.heartbeatMs, [10_000, 10_000]);
    assert.equal(config.maxFrameBytes, 4 * 1024 * 1024);
    assert.match(config.nodeId, /^[A-Za-z0-9._-]+-[0-9a-f]{6}$/);
  });

  test('every setting has a STOMPEDE_ env var and the matching flag', () => {
    for (const s of SETTINGS) {
      assert.match(s.env, /^STOMPEDE_[A-Z0-9_]+$/);
      assert.equal(s.flag, '--' + s.env.slice('STOMPEDE_'.length).toLowerCase().replaceAll('_', '-'));
    }
    assert.equal(new Set(SETTINGS.map((s) => s.key)).size, SETTINGS.length, 'one setting per key');
  });

  test('flags win over env vars, env vars over defaults', () => {
    const env = { STOMPEDE_WS_PORT: '25674', STOMPEDE_TCP_PORT: '26613' };
    assert.equal(parseConfig([], env).config.wsPort, 25674);
    assert.equal(parseConfig(['--ws-port', '35674'], env).config.wsPort, 35674);
    assert.equal(parseConfig(['--tcp-port=0'], env).config.tcpPort, 0);
  });

  test('lists and structured values', () => {
    const { config } = parseConfig([], {
      STOMPEDE_VHOSTS: '/, tenant-a ,tenant-b',
      STOMPEDE_HEARTBEAT_MS: '0,5000',
      STOMPEDE_DESTINATION_PREFIXES: '/topic/=topic,/queue/=queue,/exchange/=topic',
    });
    assert.deepEqual(config.vhosts, ['/', 'tenant-a', 'tenant-b']);
    assert.deepEqual(config.heartbeatMs, [0, 5000]);
    assert.deepEqual(config.destinationPrefixes.map((p) => `${p.prefix}=${p.kind}`), ['/topic/=topic', '/queue/=queue', '/exchange/=topic']);
  });

  test('every problem is reported at once, naming the env var and where the value came from', () => {
    assert.throws(
      () => parseConfig(['--max-headers', '0'], { STOMPEDE_WS_PORT: 'abc', STOMPEDE_SLOW_CONSUMER_POLICY: 'sometimes' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /STOMPEDE_WS_PORT \(--ws-port, from STOMPEDE_WS_PORT\): must be a whole number/);
        assert.match(err.message, /STOMPEDE_SLOW_CONSUMER_POLICY .*must be one of disconnect, drop/);
        assert.match(err.message, /STOMPEDE_MAX_HEADERS \(--max-headers, from --max-headers\)/);
        return true;
      },
    );
  });

  test('cross-setting checks', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ STOMPEDE_HEARTBEAT_FLOOR_MS: '5000', STOMPEDE_HEARTBEAT_CEILING_MS: '1000' }, /CEILING_MS must not be below/],
      [{ STOMPEDE_WS_PORT: '7000', STOMPEDE_TCP_PORT: '7000' }, /must differ/],
      [{ STOMPEDE_DEAD_LETTER_DESTINATION: '/nowhere/x' }, /DEAD_LETTER_DESTINATION/],
      [{ STOMPEDE_DESTINATION_PREFIXES: '/temp-queue/=queue' }, /reserved/],
      [{ STOMPEDE_DESTINATION_PREFIXES: '/topic/=topic,/user/=topic' }, /\/user\/ is reserved/],
      [{ STOMPEDE_DESTINATION_PREFIXES: '/x-user/=topic' }, /reserved/],
      // A prefix of a reserved one: /# would match every user's streams.
      [{ STOMPEDE_DESTINATION_PREFIXES: '/=topic' }, /\/ is reserved \(the broker owns/],
      [{ STOMPEDE_DEAD_LETTER_DESTINATION: '/user/alice/queue/dead' }, /DEAD_LETTER_DESTINATION/],
      [{ STOMPEDE_DEAD_LETTER_DESTINATION: '/x-user/alice/queue/dead' }, /DEAD_LETTER_DESTINATION/],
      [{ STOMPEDE_WS_IDLE_TIMEOUT_SEC: '5' }, /0 or between 8 and 960/],
    ];
    for (const [env, message] of bad) assert.throws(() => parseConfig([], env), message);
    assert.doesNotThrow(() => parseConfig([], { STOMPEDE_DEAD_LETTER_DESTINATION: '/queue/dead-letter' }));
  });

  test('STOMPEDE_REDIS_URL: Redis Cluster seeds must agree on TLS and credentials', () => {
    const single = parseConfig([], { STOMPEDE_REDIS_URL: 'rediss://:s3cret@redis.example:6380/1' }).config;
    assert.deepEqual(single.redisUrl, ['rediss://:s3cret@redis.example:6380/1']);
    const seeds = parseConfig([], { STOMPEDE_REDIS_URL: 'rediss://:s3cret@r0.example:6380, rediss://:s3cret@r1.example:6380' }).config;
    assert.equal(seeds.redisUrl.length, 2);
    const bad: [string, RegExp][] = [
      ['redis://r0.example:6379,rediss://r1.example:6380', /STOMPEDE_REDIS_URL \(--redis-url, from STOMPEDE_REDIS_URL\): Redis Cluster seeds must all be redis:\/\/ or all rediss:\/\/ \(TLS\)/],
      ['rediss://:s3cret@r0.example:6380,rediss://:other@r1.example:6380', /STOMPEDE_REDIS_URL .*same username and password .*rediss:\/\/r1\.example:6380 differs/],
      ['redis://r0.example:6379,redis://r1.example:6379/4', /STOMPEDE_REDIS_URL .*only database 0/],
    ];
    for (const [url, message] of bad) {
      assert.throws(() => parseConfig([], { STOMPEDE_REDIS_URL: url }), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, message);
        assert.doesNotMatch(err.message, /s3cret|other/, 'passwords stay out of the message');
        return true;
      });
    }
  });

  test('unknown flags are refused', () => {
    assert.throws(() => parseConfig(['--no-such-flag', '1'], {}), ConfigError);
  });
});
