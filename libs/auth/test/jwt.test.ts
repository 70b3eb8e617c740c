// JWT verification with jose: HS256 with a secret, RS256/ES256 with a PEM public key or a JWKS
// served over HTTP (cached, fetched again for an unknown kid), the time checks with their skew,
// aud and iss, and claims mapped to a principal. The verifier's clock is fixed (NOW_MS).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose';
import { AuthSetupError, JwtVerifier, loadJwtKeys, tokenOf, type AuthConfig, type Denied } from '@stompede/auth';
import type { Principal } from '@stompede/session';
import { Headers } from '@stompede/stomp';
import { authConfig, NOW_MS, NOW_SEC, secretKey, SECRET, sign } from './fixtures.js';

function verifier(over: Partial<AuthConfig>): JwtVerifier {
  const c = authConfig(over);
  return new JwtVerifier(loadJwtKeys(c), c, () => NOW_MS);
}

async function principalOf(v: JwtVerifier, token: string): Promise<Principal> {
  const r = await v.verify(token);
  if ('denied' in r) throw new Error(`denied: ${r.denied}`);
  return r;
}

async function deniedFor(v: JwtVerifier, token: string): Promise<string> {
  const r = await v.verify(token);
  assert.ok('denied' in r, `expected a denial, got ${JSON.stringify(r)}`);
  return (r as Denied).denied;
}

const dir = mkdtempSync(join(tmpdir(), 'stompede-jwt-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('HS256 and the registered claims', () => {
  const v = verifier({ jwtSecret: SECRET });

  test('a valid token: its sub is the principal, its exp (plus the skew) the expiry', async () => {
    const p = await principalOf(v, await sign(secretKey, { groups: ['ops'] }, { expInSec: 600 }));
    assert.deepEqual(p, { name: 'alice', method: 'jwt', expiresAtMs: (NOW_SEC + 600 + 30) * 1000, groups: ['ops'], permissions: undefined });
  });

  test('exp and nbf are checked with the clock-skew allowance', async () => {
    assert.match(await deniedFor(v, await sign(secretKey, {}, { expInSec: -31 })), /ERR_JWT_EXPIRED/);
    await principalOf(v, await sign(secretKey, {}, { expInSec: -29 }));
    assert.match(await deniedFor(v, await sign(secretKey, { nbf: NOW_SEC + 31 })), /ERR_JWT_CLAIM_VALIDATION_FAILED/);
    await principalOf(v, await sign(secretKey, { nbf: NOW_SEC + 29 }));
    const strict = verifier({ jwtSecret: SECRET, jwtClockSkewSec: 0 });
    assert.match(await deniedFor(strict, await sign(secretKey, {}, { expInSec: -1 })), /ERR_JWT_EXPIRED/);
  });

  test('a token without exp is refused', async () => {
    assert.match(await deniedFor(v, await sign(secretKey, {}, { expInSec: null })), /exp/);
  });

  test('aud and iss, when configured, must match one of the accepted values', async () => {
    const strict = verifier({ jwtSecret: SECRET, jwtAudience: ['stompede', 'other'], jwtIssuer: ['https://idp.example'] });
    await principalOf(strict, await sign(secretKey, { aud: 'stompede', iss: 'https://idp.example' }));
    assert.match(await deniedFor(strict, await sign(secretKey, { aud: 'someone-else', iss: 'https://idp.example' })), /aud/);
    assert.match(await deniedFor(strict, await sign(secretKey, { aud: 'stompede', iss: 'https://evil.example' })), /iss/);
    assert.match(await deniedFor(strict, await sign(secretKey, { iss: 'https://idp.example' })), /aud/);
  });

  test('a wrong signature, another secret, garbage and alg none are refused', async () => {
    const token = await sign(secretKey);
    const [h, p, s] = token.split('.');
    assert.match(await deniedFor(v, `${h}.${p}.${s!.slice(0, -2)}AA`), /SIGNATURE/);
    assert.match(await deniedFor(v, await sign(new TextEncoder().encode('another-secret-another-secret-012'))), /SIGNATURE/);
    assert.match(await deniedFor(v, 'not.a.token'), /invalid token/);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'alice', exp: NOW_SEC + 60 })).toString('base64url')}.`;
    assert.match(await deniedFor(v, none), /invalid token/);
  });
});

describe('claims', () => {
  test('principal and groups claims are configurable, nested paths included; groups may be a space-separated string', async () => {
    const v = verifier({ jwtSecret: SECRET, jwtPrincipalClaim: 'preferred_username', jwtGroupsClaim: 'realm_access.roles' });
    const p = await principalOf(v, await sign(secretKey, { preferred_username: 'bob', realm_access: { roles: ['a', 'b'] } }));
    assert.deepEqual([p.name, p.groups], ['bob', ['a', 'b']]);
    const scoped = verifier({ jwtSecret: SECRET, jwtGroupsClaim: 'scope' });
    assert.deepEqual((await principalOf(scoped, await sign(secretKey, { scope: 'read  write' }))).groups, ['read', 'write']);
    const namespaced = verifier({ jwtSecret: SECRET, jwtGroupsClaim: 'https://example.com/groups' });
    assert.deepEqual((await principalOf(namespaced, await sign(secretKey, { 'https://example.com/groups': ['x'] }))).groups, ['x']);
  });

  test('no principal claim, or a malformed groups claim: refused', async () => {
    const v = verifier({ jwtSecret: SECRET });
    assert.match(await deniedFor(v, await sign(secretKey, { sub: undefined })), /no string "sub" claim/);
    assert.match(await deniedFor(v, await sign(secretKey, { groups: [1, 2] })), /"groups" claim/);
  });

  test('a permissions claim becomes the principal\'s permissions; absent: undefined; malformed: refused', async () => {
    const v = verifier({ jwtSecret: SECRET, jwtPermissionsClaim: 'stompede' });
    const p = await principalOf(v, await sign(secretKey, { stompede: { send: ['/topic/a.*'], subscribe: ['/topic/#'] } }));
    assert.deepEqual(p.permissions, { send: ['/topic/a.*'], subscribe: ['/topic/#'], consume: [] });
    assert.equal((await principalOf(v, await sign(secretKey))).permissions, undefined);
    assert.match(await deniedFor(v, await sign(secretKey, { stompede: { send: '/topic/a' } })), /"stompede" claim/);
    assert.match(await deniedFor(v, await sign(secretKey, { stompede: { publish: ['/topic/a'] } })), /"stompede" claim/);
  });
});

describe('RS256 and ES256 with a PEM public key file', () => {
  test('RSA key: RS256 tokens pass; an HS256 token signed with the public key as secret (alg confusion) does not', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const pem = await exportSPKI(publicKey);
    const file = join(dir, 'rsa.pem');
    writeFileSync(file, pem);
    const v = verifier({ jwtPublicKeyFile: file });
    assert.equal((await principalOf(v, await sign(privateKey, {}, { alg: 'RS256' }))).name, 'alice');
    assert.match(await deniedFor(v, await sign(new TextEncoder().encode(pem), {}, { alg: 'HS256' })), /invalid token/);
    const other = await generateKeyPair('RS256');
    assert.match(await deniedFor(v, await sign(other.privateKey, {}, { alg: 'RS256' })), /SIGNATURE/);
  });

  test('P-256 key: ES256 tokens pass', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const file = join(dir, 'ec.pem');
    writeFileSync(file, await exportSPKI(publicKey));
    const v = verifier({ jwtPublicKeyFile: file });
    assert.equal((await principalOf(v, await sign(privateKey, {}, { alg: 'ES256' }))).name, 'alice');
  });

  test('a key file that is missing, not a key, or of another curve stops the start, naming the setting', async () => {
    assert.throws(() => loadJwtKeys(authConfig({ jwtPublicKeyFile: join(dir, 'nope.pem') })), (e: Error) => e instanceof AuthSetupError && /STOMPEDE_JWT_PUBLIC_KEY_FILE/.test(e.message));
    writeFileSync(join(dir, 'junk.pem'), 'hello');
    assert.throws(() => loadJwtKeys(authConfig({ jwtPublicKeyFile: join(dir, 'junk.pem') })), AuthSetupError);
    const p384 = await generateKeyPair('ES384');
    writeFileSync(join(dir, 'p384.pem'), await exportSPKI(p384.publicKey));
    assert.throws(() => loadJwtKeys(authConfig({ jwtPublicKeyFile: join(dir, 'p384.pem') })), /P-256/);
  });
});

describe('JWKS from an HTTP server', () => {
  let server: Server;
  let url = '';
  let served: JWK[] = [];
  let fetches = 0;
  const pairs: Record<string, CryptoKeyPair> = {};

  before(async () => {
    for (const [kid, alg] of [['rsa-1', 'RS256'], ['ec-2', 'ES256']] as const) pairs[kid] = await generateKeyPair(alg);
    server = createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: served }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`;
  });
  after(() => server.close());

  async function jwk(kid: string, alg: string): Promise<JWK> {
    return { ...(await exportJWK(pairs[kid]!.publicKey)), kid, alg, use: 'sig' };
  }

  test('keys are fetched once and cached; a token with an unknown kid makes the verifier fetch again (key rotation)', async () => {
    served = [await jwk('rsa-1', 'RS256')];
    fetches = 0;
    const v = verifier({ jwtJwksUrl: url, jwtJwksCooldownMs: 0 });
    await principalOf(v, await sign(pairs['rsa-1']!.privateKey, {}, { alg: 'RS256', kid: 'rsa-1' }));
    await principalOf(v, await sign(pairs['rsa-1']!.privateKey, { sub: 'bob' }, { alg: 'RS256', kid: 'rsa-1' }));
    assert.equal(fetches, 1, 'cached');
    served = [await jwk('rsa-1', 'RS256'), await jwk('ec-2', 'ES256')];
    await principalOf(v, await sign(pairs['ec-2']!.privateKey, {}, { alg: 'ES256', kid: 'ec-2' }));
    assert.equal(fetches, 2, 'fetched again for the new kid');
    assert.match(await deniedFor(v, await sign(pairs['ec-2']!.privateKey, {}, { alg: 'ES256', kid: 'unknown' })), /ERR_JWKS_NO_MATCHING_KEY/);
  });

  test('within the cooldown an unknown kid does not fetch again', async () => {
    served = [await jwk('rsa-1', 'RS256')];
    fetches = 0;
    const v = verifier({ jwtJwksUrl: url, jwtJwksCooldownMs: 600_000 });
    await principalOf(v, await sign(pairs['rsa-1']!.privateKey, {}, { alg: 'RS256', kid: 'rsa-1' }));
    served = [await jwk('rsa-1', 'RS256'), await jwk('ec-2', 'ES256')];
    await deniedFor(v, await sign(pairs['ec-2']!.privateKey, {}, { alg: 'ES256', kid: 'ec-2' }));
    assert.equal(fetches, 1);
  });

  test('an unreachable JWKS: the token is refused, the reason says so', async () => {
    const v = verifier({ jwtJwksUrl: 'http://127.0.0.1:9/jwks.json' });
    assert.match(await deniedFor(v, await sign(pairs['rsa-1']!.privateKey, {}, { alg: 'RS256', kid: 'rsa-1' })), /invalid token/);
  });
});

test('tokenOf: Authorization Bearer, a token header, or a passcode shaped like a JWT', async () => {
  const t = await sign(secretKey);
  const h = (entries: Record<string, string>): Headers => Headers.of(Object.entries(entries));
  assert.equal(tokenOf(h({ Authorization: `Bearer ${t}` })), t);
  assert.equal(tokenOf(h({ authorization: `bearer ${t}` })), t);
  assert.equal(tokenOf(h({ token: t })), t);
  assert.equal(tokenOf(h({ login: 'alice', passcode: t })), t);
  assert.equal(tokenOf(h({ login: 'alice', passcode: 'hunter2' })), undefined);
  assert.equal(tokenOf(h({ login: 'alice', passcode: 'my.pass.word' })), undefined);
  assert.equal(tokenOf(h({})), undefined);
});
