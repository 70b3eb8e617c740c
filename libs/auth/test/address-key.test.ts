// The key a client address is counted under (connection admission and failed logins share it), and
// the failed-login table counting under it: every spelling of one IPv4 address is one key, an IPv6
// /64 is one key whatever its interface id, distinct /64s (and zones) are distinct keys.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressKey, FailedLogins } from '@stompede/auth';

describe('addressKey', () => {
  test('IPv4 as is', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('127.0.0.1'), '127.0.0.1');
  });

  test('IPv4-mapped IPv6, in every spelling node and uWS give, is the IPv4 address', () => {
    for (const mapped of ['::ffff:203.0.113.7', '::FFFF:203.0.113.7', '0:0:0:0:0:ffff:203.0.113.7',
      '0000:0000:0000:0000:0000:ffff:203.0.113.7', '0000:0000:0000:0000:0000:ffff:cb00:7107', '::ffff:cb00:7107']) {
      assert.equal(addressKey(mapped), '203.0.113.7', mapped);
    }
    assert.equal(addressKey('0000:0000:0000:0000:0000:ffff:7f00:0001'), '127.0.0.1', 'as uWS writes an IPv4 peer of a dual-stack socket');
    assert.equal(addressKey('::ffff:127.0.0.1'), '127.0.0.1', 'as node:net writes it');
  });

  test('IPv6 by its /64, full or compressed, any case', () => {
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('::'), '0:0:0:0::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0DB8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1::'), '2001:db8:1:0::/64');
    assert.equal(addressKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64', 'NAT64 is not IPv4-mapped: a prefix like any other');
  });

  test('two addresses in one /64 share a key; addresses in different /64s do not', () => {
    const same = ['2001:db8:a:b::1', '2001:db8:a:b:ffff:ffff:ffff:ffff', '2001:0db8:000a:000b:1234:5678:9abc:def0', '2001:db8:a:b:0:ffff:1.2.3.4'];
    for (const a of same) assert.equal(addressKey(a), addressKey(same[0]!), a);
    const different = ['2001:db8:a:c::1', '2001:db8:a::1', '2001:db8:b:b::1', '2001:db9:a:b::1', '::1', '1.2.3.4'];
    const keys = new Set([addressKey(same[0]!), ...different.map(addressKey)]);
    assert.equal(keys.size, different.length + 1, [...keys].join(' '));
  });

  test('a zone id stays on the key: the link-local /64 of one interface is not another\'s', () => {
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64%eth0');
    assert.equal(addressKey('fe80::2%eth0'), 'fe80:0:0:0::/64%eth0');
    assert.equal(addressKey('fe80::%eth0'), 'fe80:0:0:0::/64%eth0');
    assert.notEqual(addressKey('fe80::1%eth1'), addressKey('fe80::1%eth0'));
    assert.equal(addressKey('fe80::1'), 'fe80:0:0:0::/64');
  });

  test('what is not an IP address is its own key', () => {
    assert.equal(addressKey(''), '');
    assert.equal(addressKey('unix-socket'), 'unix-socket');
  });
});

describe('FailedLogins counts under addressKey', () => {
  test('failures from two addresses of one IPv6 /64 count together; another /64 is not affected', () => {
    const f = new FailedLogins(3, 60_000);
    f.record('2001:db8:5:6::1', 0);
    f.record('2001:db8:5:6::2', 1);
    assert.equal(f.blocked('2001:db8:5:6:dead:beef:0:1', 2), false);
    f.record('2001:db8:5:6:dead:beef:0:1', 2);
    for (const a of ['2001:db8:5:6::1', '2001:db8:5:6::ffff', '2001:db8:5:6:1:2:3:4']) assert.equal(f.blocked(a, 3), true, a);
    assert.equal(f.blocked('2001:db8:5:7::1', 3), false, 'the next /64');
    assert.equal(f.size, 1);
    assert.equal(f.blocked('2001:db8:5:6::1', 60_000), false, 'the window ended');
  });

  test('an IPv4 client counts the same however the transport spells it', () => {
    const f = new FailedLogins(2, 60_000);
    f.record('198.51.100.9', 0);
    f.record('0000:0000:0000:0000:0000:ffff:c633:6409', 1);
    assert.equal(f.blocked('::ffff:198.51.100.9', 2), true);
    assert.equal(f.blocked('198.51.100.9', 2), true);
    assert.equal(f.blocked('198.51.100.10', 2), false);
  });
});
