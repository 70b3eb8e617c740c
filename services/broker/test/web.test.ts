// The browser-facing routes of a node: the demo page and the bundles it loads (served by the node,
// with a strict content security policy), and the settings that switch the demo page, /api/cluster
// and SockJS off.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { http } from './helpers/sockjs.js';
import { useBroker } from './helpers/suite.js';

describe('web routes, defaults', () => {
  const { broker } = useBroker();

  test('the demo page and the stompjs and sockjs-client bundles are served, with a CSP', async () => {
    const page = await http('GET', `${broker().httpUrl}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=UTF-8');
    assert.match(page.body, /<script src="\/vendor\/stomp\.umd\.min\.js"><\/script>/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
    const stompjs = await http('GET', `${broker().httpUrl}/vendor/stomp.umd.min.js`);
    assert.equal(stompjs.headers['content-type'], 'application/javascript; charset=UTF-8');
    assert.match(stompjs.body, /StompJs/);
    assert.match((await http('GET', `${broker().httpUrl}/vendor/sockjs.min.js`)).body, /SockJS/);
    assert.equal((await http('GET', `${broker().httpUrl}/vendor/..%2Fapp.js`)).status, 404);
    assert.equal((await http('GET', `${broker().httpUrl}/demo/nope.js`)).status, 404);
  });

  test('/api/cluster on a single node lists it', async () => {
    const view = JSON.parse((await http('GET', `${broker().httpUrl}/api/cluster`)).body) as { self: string; nodes: { id: string }[] };
    assert.deepEqual(view.nodes.map((n) => n.id), [view.self]);
  });
});

describe('web routes switched off', () => {
  const { broker } = useBroker({ env: { STOMPEDE_DEMO_PAGE: 'false', STOMPEDE_CLUSTER_VIEW: 'false', STOMPEDE_SOCKJS_PATH: 'off' } });

  test('no demo page, no /api/cluster, no SockJS; the bundles and WebSocket stay', async () => {
    for (const path of ['/', '/demo/app.js', '/api/cluster', '/sockjs/info', '/sockjs']) {
      assert.equal((await http('GET', `${broker().httpUrl}${path}`)).status, 404, path);
    }
    assert.equal((await http('GET', `${broker().httpUrl}/vendor/stomp.umd.min.js`)).status, 200);
    assert.equal((await http('GET', `${broker().httpUrl}/healthz`)).status, 200);
  });
});
