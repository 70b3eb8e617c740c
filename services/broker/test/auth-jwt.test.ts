// JWT authentication against real broker processes: stompjs sends its token the ways users do
// (passcode, Authorization: Bearer, a token header); expired and forged tokens get access
// refused; a live connection whose token expires gets ERROR credentials expired and is closed;
// a client refreshes its token with a SEND to /stompede/token and stays connected past the old
// expiry; a refresh for another principal ends the connection. Keys from a secret (HS256) and
// from a JWKS the test serves over HTTP (ES256).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@stomp/stompjs';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { startBroker } from './helpers/broker-process.js';
import { eventually, expectErrorThenClose } from './helpers/expect.js';
import { metric } from './helpers/metrics.js';
import { bodyText, frame, header, RawClient } from './helpers/raw-client.js';
import { connectStompjs, Inbox, receipt, subscribed } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';

const SECRET = 'black-box-secret-black-box-secret-0123456';
const secretKey = new TextEncoder().encode(SECRET);
const nowSec = (): number => Math.floor(Date.now() / 1000);

/** A token for alice (unless claims say otherwise), expiring in `expInSec` unless claims hold an exp. */
function hs256(claims: JWTPayload, expInSec: number): Promise<string> {
  const exp = claims.exp ?? nowSec() + expInSec;
  return new SignJWT({ sub: 'alice', ...claims }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(exp).sign(secretKey);
}

/** A stompjs client whose ERROR frames and closes are recorded rather than thrown. */
async function watchedStompjs(url: string, connectHeaders: Record<string, string>): Promise<{ client: Client; errors: string[]; closed: () => boolean }> {
  const client = await connectStompjs(url, { connectHeaders });
  const errors: string[] = [];
  let closed = false;
  client.onStompError = (f) => errors.push(f.headers['message'] ?? '');
  client.onWebSocketClose = () => (closed = true);
  return { client, errors, closed: () => closed };
}

async function roundTrip(client: Client, destination: string, body: string): Promise<void> {
  const inbox = new Inbox();
  const sub = await subscribed(client, destination, inbox.push);
  client.publish({ destination, body });
  await inbox.until(1);
  sub.unsubscribe();
}

describe('JWT (HS256)', () => {
  const suite = useBroker({
    env: {
      STOMPEDE_AUTH: 'jwt',
      STOMPEDE_JWT_SECRET: SECRET,
      STOMPEDE_JWT_AUDIENCE: 'stompede',
      STOMPEDE_JWT_CLOCK_SKEW_SEC: '0',
      STOMPEDE_AUTH_FAILURE_DELAY_MS: '20',
      STOMPEDE_AUTH_MAX_FAILURES_PER_IP: '1000',
    },
  });

  test('stompjs sends the token as passcode, as Authorization: Bearer, or as a token header', async () => {
    const token = await hs256({ aud: 'stompede' }, 3600);
    const ways: Record<string, string>[] = [{ passcode: token }, { login: 'alice', passcode: token }, { Authorization: `Bearer ${token}` }, { token }];
    for (const connectHeaders of ways) {
      const client = await suite.stompjs({ connectHeaders });
      await roundTrip(client, '/topic/jwt.a', JSON.stringify(Object.keys(connectHeaders)));
    }
    assert.equal(await metric(suite.broker(), 'stompede_auth_successes_total', { method: 'jwt' }), 4);
  });

  test('an expired token, another audience, a forged signature or no token: access refused, then a close', async () => {
    const forged = (await hs256({ aud: 'stompede' }, 3600)).replace(/\.[^.]+$/, '.AAAA');
    const tokens = [await hs256({ aud: 'stompede' }, -60), await hs256({ aud: 'elsewhere' }, 3600), forged];
    for (const passcode of [...tokens.map((t) => ({ passcode: t })), {}]) {
      const c = await RawClient.tcp(suite.broker().tcpPort);
      c.send(frame('CONNECT', { 'accept-version': '1.2', host: '/', ...passcode }));
      const e = await expectErrorThenClose(c, 'access refused');
      assert.equal(bodyText(e), 'The credentials were not accepted.');
    }
  });

  test('a live connection whose token expires gets ERROR credentials expired and is closed', async () => {
    const c = await RawClient.tcp(suite.broker().tcpPort);
    await c.connect({ passcode: await hs256({ aud: 'stompede' }, 2) });
    await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: '/topic/jwt.expiring' });
    const e = await expectErrorThenClose(c, 'credentials expired', 10_000);
    assert.match(bodyText(e), /\/stompede\/token/);
  });

  test('a refresh (SEND to /stompede/token with a token header) is answered by its RECEIPT and keeps the connection past the old expiry', async () => {
    const exp = nowSec() + 3;
    const { client, errors, closed } = await watchedStompjs(suite.broker().wsUrl, { passcode: await hs256({ aud: 'stompede', exp }, 0) });
    const fresh = await hs256({ aud: 'stompede' }, 3600);
    const done = receipt(client, 'refresh-1');
    client.publish({ destination: '/stompede/token', headers: { token: fresh, receipt: 'refresh-1' } });
    await done;
    await eventually(() => Date.now() > exp * 1000 + 1500, () => 'clock');
    assert.deepEqual(errors, []);
    assert.equal(closed(), false);
    await roundTrip(client, '/topic/jwt.refreshed', 'still here');
    assert.equal(await metric(suite.broker(), 'stompede_auth_refreshes_total', { result: 'accepted' }), 1);
  });

  test('a refresh with a token for another principal: ERROR access refused with the receipt-id, then a close', async () => {
    const c = await RawClient.tcp(suite.broker().tcpPort);
    await c.connect({ passcode: await hs256({ aud: 'stompede' }, 3600) });
    c.send(frame('SEND', { destination: '/stompede/token', token: await hs256({ aud: 'stompede', sub: 'mallory' }, 3600), receipt: 'r' }));
    const e = await expectErrorThenClose(c, 'access refused');
    assert.equal(header(e, 'receipt-id'), 'r');
    assert.match(bodyText(e), /another principal/);
  });
});

describe('JWT (ES256 from a JWKS URL)', () => {
  let server: Server;
  let jwksUrl = '';
  let keys: CryptoKeyPair;

  before(async () => {
    keys = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    jwksUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/.well-known/jwks.json`;
  });
  after(() => server.close());

  // The broker is started here, once `before` has the JWKS URL to give it.
  test('a token signed by the identity provider\'s key is accepted; one signed by another key is not', async () => {
    const broker = await startBroker({ env: { STOMPEDE_AUTH: 'jwt', STOMPEDE_JWT_JWKS_URL: jwksUrl, STOMPEDE_JWT_ISSUER: 'https://idp.test', STOMPEDE_AUTH_FAILURE_DELAY_MS: '0' } });
    try {
      const sign = (key: CryptoKey): Promise<string> =>
        new SignJWT({ sub: 'dana', iss: 'https://idp.test' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setExpirationTime('1h').sign(key);
      const client = await connectStompjs(broker.wsUrl, { connectHeaders: { Authorization: `Bearer ${await sign(keys.privateKey)}` } });
      await roundTrip(client, '/topic/jwks.a', 'hi');
      await client.deactivate();
      const other = await generateKeyPair('ES256');
      const c = await RawClient.tcp(broker.tcpPort);
      c.send(frame('CONNECT', { 'accept-version': '1.2', host: '/', passcode: await sign(other.privateKey) }));
      await expectErrorThenClose(c, 'access refused');
    } finally {
      await broker.stop();
    }
  });
});
