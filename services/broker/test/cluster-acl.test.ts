// Authorization across a 2-node cluster on a private Redis: a wildcard subscription on node A binds
// to destinations node B publishes to for the first time after the SUBSCRIBE (announced through
// Redis), and receives the ones its principal may read, never the others.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { metricSum, useCluster } from './helpers/cluster.js';
import { eventually, expectRefused } from './helpers/expect.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { Inbox, receipt, subscribed } from './helpers/stompjs.js';

const LONG = 20_000;
const dir = mkdtempSync(join(tmpdir(), 'stompede-cluster-acl-'));
const aclFile = join(dir, 'acl.yaml');
writeFileSync(aclFile, 'rules:\n  - who: anonymous\n    send: [/topic/#]\n    subscribe: [/topic/public.#]\n');

/** Large bodies: the bytes node A reads from Redis then tell when it has read all of them. */
const BODY_BYTES = 64 * 1024;
const body = (label: string): string => label + ':' + 'x'.repeat(BODY_BYTES);

describe('cluster authorization', { skip: redisUnavailable() }, () => {
  const { node, stompjs, logs } = useCluster({ nodes: 2, env: { STOMPEDE_ACL_FILE: aclFile } });

  test('a wildcard subscription on node A never delivers the forbidden destinations node B first publishes to after the SUBSCRIBE', async () => {
    const tag = `c${Date.now().toString(36)}`;
    const sub = await stompjs(0);
    const inbox = new Inbox();
    await subscribed(sub, '/topic/#', inbox.push);
    const readBefore = (await metricSum(node(0), 'stompede_cluster_bytes_read_total')) ?? 0;
    const pub = await stompjs(1);
    const n = 4;
    for (let i = 0; i < n; i++) {
      pub.publish({ destination: `/topic/secret.${tag}.${i}`, body: body(`secret-${i}`) });
      pub.publish({ destination: `/topic/public.${tag}.${i}`, body: body(`public-${i}`) });
    }
    pub.publish({ destination: `/topic/public.${tag}.end`, body: body('end'), headers: { receipt: `r-${tag}` } });
    await receipt(pub, `r-${tag}`, LONG);
    // Node A reads every one of those streams (its pattern matches them all; the ACL decides at
    // the binding): once it has read that many bytes, the secret messages have reached its router.
    const total = (2 * n + 1) * BODY_BYTES;
    let read = 0;
    await eventually(
      async () => (read = ((await metricSum(node(0), 'stompede_cluster_bytes_read_total')) ?? 0) - readBefore) >= total,
      () => `node A read ${read} of ${total} bytes\n${logs()}`,
      LONG,
    );
    await inbox.until(n + 1, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    // A round trip on the subscriber's connection: whatever node A wrote to it before is in.
    await subscribed(sub, `/topic/public.${tag}.fence`, () => {});
    const got = inbox.messages.map((m) => m.headers['destination']).sort();
    const expected = [...Array.from({ length: n }, (_, i) => `/topic/public.${tag}.${i}`), `/topic/public.${tag}.end`].sort();
    assert.deepEqual(got, expected);
    assert.ok(((await metricSum(node(0), 'stompede_access_wildcard_exclusions_total')) ?? 0) >= n, 'node A refused the secret bindings');
  });

  test('an exact SUBSCRIBE to a forbidden destination is refused on every node', async () => {
    for (const i of [0, 1]) {
      await expectRefused(node(i), 'SUBSCRIBE', { id: 's', destination: '/topic/secret.x' }, 'access refused', { receipt: `r-${i}` });
    }
  });
});
