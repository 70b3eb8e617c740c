// Per-address admission in-process, with a fake clock: which address a connection counts under
// (IPv4, IPv4-mapped IPv6, IPv6 per /64: the failed-login throttle's key too), the open-connection
// bound, the connection-rate token bucket, the ERROR a refusal sends, and that forgotten addresses
// do not accumulate. The settings' parsing is here too. The live behaviour is in limits-abuse.test.ts and hostile-connections.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressKey as failedLoginKey } from '@stompede/auth';
import { Admission, addressKey, parseConfig } from '@stompede/broker';

const text = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString();

describe('addressKey', () => {
  test('IPv4 as is, IPv4-mapped IPv6 as IPv4 (every spelling), IPv6 by its /64', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('0000:0000:0000:0000:0000:ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('0000:0000:0000:0000:0000:ffff:7f00:0001'), '127.0.0.1', 'as uWS writes an IPv4 peer of a dual-stack socket');
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0DB8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
  });

  test('is the very function the failed-login throttle keys by (libs/auth/test/address-key.test.ts covers it in full)', () => {
    assert.equal(addressKey, failedLoginKey);
  });
});

describe('Admission', () => {
  test('maxConnectionsPerIp: that many open connections per address, released on close', () => {
    const a = new Admission({ maxConnectionsPerIp: 2, connectionRatePerIp: 0, connectionBurstPerIp: 1 });
    assert.equal(a.admit('1.1.1.1'), undefined);
    assert.equal(a.admit('1.1.1.1'), undefined);
    const refusal = text(a.admit('1.1.1.1'));
    assert.match(refusal, /^ERROR\nmessage:too many connections from this address\n/);
    assert.match(refusal, /maxConnectionsPerIp/);
    assert.equal(a.admit('2.2.2.2'), undefined, 'another address is not affected');
    a.release('1.1.1.1');
    assert.equal(a.admit('1.1.1.1'), undefined);
    assert.equal(a.hits.get('maxConnectionsPerIp'), 1);
  });

  test('connectionRatePerIp: a bucket of connectionBurstPerIp, refilled at the rate', () => {
    let now = 0;
    const a = new Admission({ maxConnectionsPerIp: 0, connectionRatePerIp: 10, connectionBurstPerIp: 3 }, () => now);
    for (let i = 0; i < 3; i++) assert.equal(a.admit('x'), undefined);
    assert.match(text(a.admit('x')), /message:connecting too fast/);
    now += 50;
    assert.notEqual(a.admit('x'), undefined, 'half a token after 50 ms at 10/s');
    now += 60;
    assert.equal(a.admit('x'), undefined);
    assert.notEqual(a.admit('x'), undefined);
    now += 10_000;
    for (let i = 0; i < 3; i++) assert.equal(a.admit('x'), undefined, 'the bucket refills to its depth, no further');
    assert.notEqual(a.admit('x'), undefined);
  });

  test('addresses with no connection and a full bucket are forgotten', () => {
    let now = 0;
    const a = new Admission({ maxConnectionsPerIp: 5, connectionRatePerIp: 100, connectionBurstPerIp: 10 }, () => now);
    for (let i = 0; i < 1000; i++) {
      const key = `10.0.${i >> 8}.${i & 255}`;
      assert.equal(a.admit(key), undefined);
      a.release(key);
    }
    assert.equal(a.admit('10.9.9.9'), undefined);
    assert.equal(a.tracked, 1001);
    now += 20_000;
    assert.equal(a.admit('10.9.9.8'), undefined);
    // Only the two still holding a connection remain.
    assert.equal(a.tracked, 2);
  });

  test('off when both per-address limits are 0', () => {
    assert.equal(new Admission({ maxConnectionsPerIp: 0, connectionRatePerIp: 0, connectionBurstPerIp: 1 }).off, true);
    assert.equal(new Admission({ maxConnectionsPerIp: 1, connectionRatePerIp: 0, connectionBurstPerIp: 1 }).off, false);
  });
});

describe('abuse-limit settings', () => {
  test('defaults', () => {
    const { config } = parseConfig([], {});
    assert.deepEqual(
      [config.maxConnectionsPerIp, config.connectionRatePerIp, config.connectionBurstPerIp, config.maxConnectionsPerPrincipal,
        config.maxSendsPerSecond, config.sendBurst, config.maxPublishDestinations, config.maxBodyBytes, config.frameTimeoutMs],
      [1000, 100, 200, 1000, 10_000, 20_000, 1000, [], 60_000],
    );
  });

  test('STOMPEDE_MAX_BODY_BYTES is a list of prefix=bytes, refused when malformed', () => {
    const { config } = parseConfig(['--max-body-bytes', '/topic/=65536, /queue/=1048576'], {});
    assert.deepEqual(config.maxBodyBytes, [{ prefix: '/topic/', bytes: 65536 }, { prefix: '/queue/', bytes: 1048576 }]);
    for (const bad of ['topic=1', '/topic/', '/topic/=x', '=5', '/a/=-1']) {
      assert.throws(() => parseConfig([], { STOMPEDE_MAX_BODY_BYTES: bad }), /STOMPEDE_MAX_BODY_BYTES/, bad);
    }
  });
});
