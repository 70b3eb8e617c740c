// negotiateConnect as a pure function of CONNECT headers and config: version, virtual host and
// heart-beat decisions (DESIGN-NOTES "Versions", "host", "Heart-beats").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_SESSION_CONFIG, negotiateConnect, type Connected, type Refused, type SessionConfig } from '@stompede/session';
import { Headers } from '@stompede/stomp';

const config: SessionConfig = { ...DEFAULT_SESSION_CONFIG, vhosts: ['/', 'tenant-a'] };

function negotiate(headers: Record<string, string>, cfg: SessionConfig = config): Connected | Refused {
  return negotiateConnect(Headers.of(Object.entries(headers)), cfg);
}

function connected(headers: Record<string, string>, cfg: SessionConfig = config): Connected {
  const r = negotiate(headers, cfg);
  if ('error' in r) assert.fail(`refused: ${r.error} (${r.detail})`);
  return r;
}

function refused(headers: Record<string, string>, cfg: SessionConfig = config): Refused {
  const r = negotiate(headers, cfg);
  if (!('error' in r)) assert.fail(`accepted as ${r.version}`);
  return r;
}

describe('negotiateConnect: versions', () => {
  const cases: [string | undefined, string][] = [
    [undefined, '1.0'],
    ['1.0', '1.0'],
    ['1.1', '1.1'],
    ['1.2', '1.2'],
    ['1.0,1.1', '1.1'],
    ['1.0,1.1,1.2', '1.2'],
    ['1.2,1.0', '1.2'],
    ['1.1, 1.2 ', '1.2'],
    ['2.0,1.1', '1.1'],
  ];
  for (const [accept, version] of cases) {
    test(`accept-version ${accept ?? '(absent)'} -> ${version}`, () => {
      const h: Record<string, string> = accept === undefined ? {} : { 'accept-version': accept };
      const r = connected(h);
      assert.equal(r.version, version);
      assert.deepEqual(r.headers[0], ['version', version]);
    });
  }

  test('no common version -> ERROR naming the supported ones in a version header', () => {
    const r = refused({ 'accept-version': '2.0,3.1' });
    assert.equal(r.error, 'unsupported protocol version');
    assert.deepEqual(r.headers, [['version', '1.0,1.1,1.2']]);
    assert.match(r.detail, /2\.0,3\.1/);
  });
});

describe('negotiateConnect: virtual hosts', () => {
  test('absent host -> first vhost', () => {
    assert.equal(connected({ 'accept-version': '1.2' }).vhost, '/');
  });

  test('configured vhosts are accepted as themselves', () => {
    assert.equal(connected({ 'accept-version': '1.2', host: 'tenant-a' }).vhost, 'tenant-a');
    assert.equal(connected({ 'accept-version': '1.2', host: '/' }).vhost, '/');
  });

  for (const alias of ['localhost', '127.0.0.1', '::1']) {
    test(`alias ${alias} means the default vhost`, () => {
      assert.equal(connected({ 'accept-version': '1.2', host: alias }).vhost, '/');
    });
  }

  test('configured aliases replace the defaults', () => {
    const cfg = { ...config, hostAliases: ['broker.example'] };
    assert.equal(connected({ 'accept-version': '1.2', host: 'broker.example' }, cfg).vhost, '/');
    assert.equal(refused({ 'accept-version': '1.2', host: 'localhost' }, cfg).error, 'unknown virtual host');
  });

  test('unknown host -> ERROR unknown virtual host naming what is configured', () => {
    const r = refused({ 'accept-version': '1.2', host: 'example.com' });
    assert.equal(r.error, 'unknown virtual host');
    assert.match(r.detail, /example\.com/);
    assert.match(r.detail, /tenant-a/);
  });

  test('the version is checked before the host', () => {
    assert.equal(refused({ 'accept-version': '9.9', host: 'example.com' }).error, 'unsupported protocol version');
  });
});

describe('negotiateConnect: heart-beats', () => {
  // Server offer 10000,10000 (default), floor 1000, ceiling 60000.
  const matrix: [string | undefined, number, number][] = [
    // [client heart-beat, server sends every, server expects every]
    [undefined, 0, 0],
    ['0,0', 0, 0],
    ['5000,5000', 10_000, 10_000], // the server cannot go faster than its offer
    ['20000,20000', 20_000, 20_000], // the slower side wins
    ['0,20000', 20_000, 0], // client sends nothing: nothing expected
    ['20000,0', 0, 20_000], // client wants nothing: nothing sent
    ['0,120000', 60_000, 0], // server never stays silent longer than the ceiling
    ['120000,0', 0, 120_000], // the ceiling does not apply to what the client promised
  ];
  for (const [hb, send, expect] of matrix) {
    test(`client ${hb ?? '(absent)'} -> send ${send}, expect ${expect}`, () => {
      const h: Record<string, string> = { 'accept-version': '1.2' };
      if (hb !== undefined) h['heart-beat'] = hb;
      const r = connected(h);
      assert.equal(r.sendEveryMs, send);
      assert.equal(r.expectEveryMs, expect);
      assert.deepEqual(r.headers, [['version', '1.2'], ['heart-beat', '10000,10000']]);
    });
  }

  test('the server offer is raised to the floor, and 0 stays 0', () => {
    const cfg = { ...config, heartbeatMs: [200, 0] as const, heartbeatFloorMs: 1_000 };
    const r = connected({ 'accept-version': '1.1', 'heart-beat': '100,100' }, cfg);
    assert.deepEqual(r.headers[1], ['heart-beat', '1000,0']);
    assert.equal(r.sendEveryMs, 1_000);
    assert.equal(r.expectEveryMs, 0);
  });

  test('a server offer of 0,0 turns heart-beats off whatever the client asks', () => {
    const cfg = { ...config, heartbeatMs: [0, 0] as const };
    const r = connected({ 'accept-version': '1.2', 'heart-beat': '1000,1000' }, cfg);
    assert.deepEqual(r.headers[1], ['heart-beat', '0,0']);
    assert.equal(r.sendEveryMs, 0);
    assert.equal(r.expectEveryMs, 0);
  });

  test('a custom ceiling caps what the server sends', () => {
    const cfg = { ...config, heartbeatCeilingMs: 15_000 };
    assert.equal(connected({ 'accept-version': '1.2', 'heart-beat': '0,30000' }, cfg).sendEveryMs, 15_000);
  });

  test('STOMP 1.0 ignores heart-beat entirely, even malformed, and gets no heart-beat header', () => {
    for (const hb of ['1000,1000', 'garbage']) {
      const r = connected({ 'heart-beat': hb });
      assert.equal(r.version, '1.0');
      assert.equal(r.sendEveryMs, 0);
      assert.equal(r.expectEveryMs, 0);
      assert.deepEqual(r.headers, [['version', '1.0']]);
    }
  });

  for (const bad of ['', '1000', '1000,', ',1000', 'a,b', '-1,0', '1.5,0', ' 1000,1000', '1000,1000 ', '1,2,3', '99999999999,0']) {
    test(`malformed heart-beat ${JSON.stringify(bad)} -> ERROR invalid heart-beat`, () => {
      const r = refused({ 'accept-version': '1.1', 'heart-beat': bad });
      assert.equal(r.error, 'invalid heart-beat');
      assert.ok(r.detail.includes(bad));
    });
  }
});
