// Stompede in a real browser (Debian's Chromium through playwright-core): stompjs and sockjs-client
// as the node serves them, the STOMP scenario over native WebSocket and every SockJS transport,
// greetings between pages on two nodes of a cluster, the README's browser quickstart as printed, and
// the demo page driven by clicks (its screenshot is docs/demo.png when STOMPEDE_WRITE_SCREENSHOT=1).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { chromiumMissing, useBrowser } from './helpers/browser.js';
import { DEFINE_HELPERS, greet, greeter, queueScenario } from './helpers/browser-scripts.js';
import { useCluster } from './helpers/cluster.js';
import { eventually } from './helpers/expect.js';
import { ROOT, snippet } from './helpers/readme.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { useBroker } from './helpers/suite.js';

const TRANSPORTS = [null, 'websocket', 'xhr-streaming', 'xhr-polling', 'eventsource', 'htmlfile'] as const;
const label = (t: string | null): string => (t === null ? 'native WebSocket' : `SockJS ${t}`);

describe('in Chromium', { skip: chromiumMissing() ?? redisUnavailable() }, () => {
  const browser = useBrowser();

  describe('against one node (make run)', () => {
    const single = useBroker();

    test("README's browser quickstart runs as printed (ports swapped)", async () => {
      const html = snippet('browser').replaceAll('localhost:15674', `localhost:${single.broker().wsPort}`);
      // The snippet as a user's own page, on a dev server of another origin.
      const server = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { page, log } = await browser.page();
      await page.goto(`http://localhost:${(server.address() as AddressInfo).port}/`);
      await eventually(() => log.some((l) => l === '/topic/chat.general: hello from the browser'), () => `console: ${log.join('\n')}`);
      await page.close();
      server.closeAllConnections();
      server.close();
    });
  });

  describe('against a cluster of two nodes', () => {
    // The default disconnect delay (5 s): a shorter one closes polling sessions whose browser, on a
    // loaded machine, takes longer than that between two polls (c[3000,"Go away!"]).
    // Not an outage test: a 1 s Redis deadline on a machine this loaded can count Redis as down,
    // and a SUBSCRIBE with a receipt then gets ERROR (cluster.md, "Redis outages").
    const cluster = useCluster({ nodes: 2, env: { STOMPEDE_REDIS_TIMEOUT_MS: '5000' } });

    /** A page on node `i`'s demo page, with the test helpers defined. */
    async function pageOn(i: number) {
      const { page, log } = await browser.page();
      await page.goto(`${cluster.node(i).httpUrl}/`);
      const globals = await page.evaluate('[typeof StompJs, typeof SockJS]');
      assert.deepEqual(globals, ['object', 'function'], `the page's bundles did not load: ${log.join('\n')}`);
      await page.evaluate(DEFINE_HELPERS);
      return { page, log };
    }

    test('the STOMP scenario over native WebSocket and each SockJS transport (queue, ack, disconnect receipt)', async () => {
      // Each transport in its own page, all at once: one browser, one wait.
      await Promise.all(TRANSPORTS.map(async (transport) => {
        const { page, log } = await pageOn(0);
        const result = (await page.evaluate(queueScenario(`/queue/browser-${randomUUID()}`, transport))) as Record<string, string>;
        assert.equal(result['transport'], transport ?? 'websocket', `${label(transport)}: sockjs-client used the forced transport`);
        assert.equal(result['body'], `hello from ${transport ?? 'websocket'} ✓`);
        assert.equal(result['node'], cluster.node(0).nodeId);
        assert.match(result['disconnect']!, /^RECEIPT /, `${label(transport)}: ${log.join('\n')}`);
        await page.close();
      }));
    });

    test('two pages on two nodes exchange greetings over native WebSocket and each SockJS transport', async () => {
      await Promise.all(TRANSPORTS.map(async (transport) => {
        const topic = `/topic/greetings.${randomUUID()}`;
        const [a, b] = [await pageOn(0), await pageOn(1)];
        const greeting = (p: typeof a) => p.page.evaluate(greeter(topic, transport)).catch((e: Error) =>
          assert.fail(`${label(transport)}: ${e.message}\npage: ${p.log.join('\n')}\n${cluster.logs()}`)) as Promise<{ node: string }>;
        const whoA = await greeting(a);
        const whoB = await greeting(b);
        assert.deepEqual([whoA.node, whoB.node], [cluster.node(0).nodeId, cluster.node(1).nodeId]);
        await a.page.evaluate(greet(topic, `Hello from ${whoA.node}`));
        await b.page.evaluate(greet(topic, `Hello from ${whoB.node}`));
        for (const p of [a, b]) {
          const bodies = (await p.page.evaluate('window.until(2)')) as string[];
          assert.deepEqual([...bodies].sort(), [`Hello from ${whoA.node}`, `Hello from ${whoB.node}`], `${label(transport)}: ${p.log.join('\n')}`);
        }
        await a.page.close();
        await b.page.close();
      }));
    });

    test('the demo page: greetings between a WebSocket page and a SockJS page on two nodes, and the cluster tab', async () => {
      const a = await browser.page();
      const b = await browser.page();
      await a.page.setViewportSize({ width: 1000, height: 560 });
      await a.page.goto(`${cluster.node(0).httpUrl}/`);
      await b.page.goto(`${cluster.node(1).httpUrl}/`);
      await a.page.click('#connect');
      await b.page.check('#sockjs');
      await b.page.selectOption('#transport', 'xhr-streaming');
      await b.page.click('#connect');
      await a.page.waitForSelector('#status.connected');
      await b.page.waitForSelector('#status.connected');
      assert.equal(await a.page.textContent('#status'), `connected to ${cluster.node(0).nodeId} over WebSocket`);
      assert.equal(await b.page.textContent('#status'), `connected to ${cluster.node(1).nodeId} over SockJS xhr-streaming`);
      // Subscriptions on both nodes are live once each page's own greeting comes back to it.
      await b.page.fill('#name', 'Grace');
      await b.page.click('#send');
      await b.page.waitForSelector('td.greeting');
      await a.page.fill('#name', 'Ada');
      await a.page.click('#send');
      await b.page.waitForSelector('tr:has-text("Hello, Ada!")');
      const seenByB = await b.page.locator('td.greeting').allTextContents();
      assert.ok(seenByB.includes('Hello, Ada!'), `page on node 1 saw ${seenByB}`);
      await a.page.waitForSelector('tr:has-text("Hello, Ada!")');
      await a.page.click('#tab-cluster');
      await a.page.waitForFunction(() => document.querySelectorAll('#nodes tr').length === 2);
      const rows = await a.page.locator('#nodes tr').allTextContents();
      assert.ok(rows.some((r) => r.includes(cluster.node(1).nodeId) && r.includes('sockjs')), `cluster tab: ${rows.join(' | ')}`);
      await a.page.click('#tab-greetings');
      const shot = await a.page.screenshot({ fullPage: true });
      assert.deepEqual([...shot.subarray(1, 4)], [...Buffer.from('PNG')]);
      const path = process.env['STOMPEDE_WRITE_SCREENSHOT'] === '1' ? join(ROOT, 'docs/demo.png') : join(tmpdir(), 'stompede-demo.png');
      writeFileSync(path, shot);
      await a.page.close();
      await b.page.close();
    });
  });
});
