// Where things live in Redis (redis/keys.ts): partitions are stable and in range, each key's hash tag
// is its partition's, a queue's byte counter shares its stream's slot, and distinct destinations
// never share a key.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { KeySpace } from '../src/redis/keys.js';

const RUNS = { numRuns: 300 };

// Prefixes as the broker's settings allow them (STOMPEDE_REDIS_KEY_PREFIX: 1-32 of A-Za-z0-9._:-).
const prefixArb = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '9', '.', '_', ':', '-'), minLength: 1, maxLength: 32 });
const nameArb = fc.string({ unit: fc.constantFrom('/', 'a', 'b', '.', '*', ':', '{', '}', '-', ' ', 'é', '🎉'), maxLength: 16 });
// Vhosts without ':' (see the last test of this file for why).
const vhostArb = fc.string({ unit: fc.constantFrom('/', 'a', 'b', '.', '{', '}', 'é'), maxLength: 6 });
const partitionsArb = fc.integer({ min: 1, max: 1024 });

describe('KeySpace partitions', () => {
  test('partitionOf is in [0, partitions) and the same for every KeySpace with the same count', () => {
    fc.assert(
      fc.property(prefixArb, prefixArb, partitionsArb, vhostArb, nameArb, (p1, p2, n, vhost, name) => {
        const a = new KeySpace(p1, n).partitionOf(vhost, name);
        const b = new KeySpace(p2, n).partitionOf(vhost, name);
        assert.ok(Number.isInteger(a) && a >= 0 && a < n, `${a} of ${n}`);
        assert.equal(a, b, 'depends on vhost and name only, not on the prefix or the instance');
      }),
      RUNS,
    );
  });

  test('stable across versions: pinned FNV-1a partitions every node of a cluster must agree on', () => {
    // Changing the hash moves every stream: nodes of different versions would read different keys.
    const k = new KeySpace('stompede', 16);
    assert.equal(k.partitionOf('/', '/topic/a'), 2);
    assert.equal(k.partitionOf('/', '/queue/work'), 6);
    assert.equal(k.partitionOf('tenant', '/topic/x.y'), 1);
    assert.equal(k.partitionOf('', 'node-1'), 5);
    assert.equal(k.topic('/', '/topic/a'), 'stompede:t:{stompede.2}:/:/topic/a');
    assert.equal(k.queue('/', '/queue/work'), 'stompede:q:{stompede.6}:/:/queue/work');
    assert.equal(k.queueBytes(k.queue('/', '/queue/work')), 'stompede:qb:{stompede.6}:/:/queue/work');
    assert.equal(k.inbox('node-1'), 'stompede:inbox:{stompede.5}:node-1');
  });

  test('destinations spread over the partitions', () => {
    const k = new KeySpace('p', 16);
    const used = new Set<number>();
    for (let i = 0; i < 200; i++) used.add(k.partitionOf('/', `/topic/t${i}`));
    assert.equal(used.size, 16);
  });
});

describe('KeySpace keys', () => {
  test("a key's hash tag is {<prefix>.<partition>} of its destination", () => {
    fc.assert(
      fc.property(prefixArb, partitionsArb, vhostArb, nameArb, (prefix, n, vhost, name) => {
        const k = new KeySpace(prefix, n);
        const tag = `{${prefix}.${k.partitionOf(vhost, name)}}`;
        assert.equal(KeySpace.tagOf(k.topic(vhost, name)), tag);
        assert.equal(KeySpace.tagOf(k.queue(vhost, name)), tag);
        assert.ok(k.topic(vhost, name).startsWith(`${prefix}:t:${tag}:`));
        assert.ok(k.queue(vhost, name).startsWith(`${prefix}:q:${tag}:`));
      }),
      RUNS,
    );
  });

  test("a queue's bytes key shares the queue stream's hash tag (one slot for the ENQUEUE/ACK scripts)", () => {
    fc.assert(
      fc.property(prefixArb, partitionsArb, vhostArb, nameArb, (prefix, n, vhost, name) => {
        const k = new KeySpace(prefix, n);
        const q = k.queue(vhost, name);
        const b = k.queueBytes(q);
        assert.notEqual(b, q);
        assert.equal(KeySpace.tagOf(b), KeySpace.tagOf(q));
        assert.equal(b, q.replace(`${prefix}:q:`, `${prefix}:qb:`));
        assert.ok(b.startsWith(`${prefix}:qb:`), b);
        assert.ok(b.endsWith(`:${vhost}:${name}`), b);
      }),
      RUNS,
    );
  });

  test('distinct (vhost, destination) pairs get distinct keys; topics, queues and byte counters never collide', () => {
    fc.assert(
      fc.property(prefixArb, fc.integer({ min: 1, max: 4 }), vhostArb, nameArb, vhostArb, nameArb, (prefix, n, v1, d1, v2, d2) => {
        fc.pre(v1 !== v2 || d1 !== d2);
        const k = new KeySpace(prefix, n);
        const all = [k.topic(v1, d1), k.queue(v1, d1), k.queueBytes(k.queue(v1, d1)), k.topic(v2, d2), k.queue(v2, d2), k.queueBytes(k.queue(v2, d2))];
        assert.equal(new Set(all).size, all.length, all.join('\n'));
      }),
      RUNS,
    );
  });

  test('inboxes: one per node, tagged like a partition; keys of different prefixes never meet', () => {
    const a = new KeySpace('a', 16);
    const b = new KeySpace('b', 16);
    assert.notEqual(a.inbox('n1'), a.inbox('n2'));
    assert.equal(KeySpace.tagOf(a.inbox('n1')), `{a.${a.partitionOf('', 'n1')}}`);
    assert.notEqual(a.inbox('n1'), b.inbox('n1'));
    assert.notEqual(a.topic('/', '/t'), b.topic('/', '/t'));
  });

  test('wake streams share their reader tag and differ per node and kind', () => {
    const k = new KeySpace('p', 4);
    const tag = KeySpace.tagOf(k.topic('/', '/topic/x'));
    const keys = [k.wake('n1', tag, 'topics'), k.wake('n1', tag, 'queues'), k.wake('n2', tag, 'topics')];
    for (const w of keys) assert.equal(KeySpace.tagOf(w), tag);
    assert.equal(new Set(keys).size, 3);
  });

  test('the directory and the registry each have one tag of their own for all their keys', () => {
    const k = new KeySpace('p', 4);
    const d = k.directory('/');
    assert.equal(KeySpace.tagOf(d.known), '{p.dir}');
    assert.equal(KeySpace.tagOf(d.announced), '{p.dir}');
    assert.notEqual(d.known, d.announced);
    assert.notEqual(k.directory('/').known, k.directory('other').known);
    const r = k.registry();
    assert.equal(KeySpace.tagOf(r.nodes), '{p.registry}');
    assert.equal(KeySpace.tagOf(r.events), '{p.registry}');
  });
});

describe('KeySpace.tagOf', () => {
  test('Redis Cluster rules: the first {...} with something inside, else the whole key', () => {
    assert.equal(KeySpace.tagOf('a{b}c'), '{b}');
    assert.equal(KeySpace.tagOf('a{b}c{d}'), '{b}');
    assert.equal(KeySpace.tagOf('x:{p.3}:/:{y}'), '{p.3}');
    assert.equal(KeySpace.tagOf('plain'), 'plain');
    assert.equal(KeySpace.tagOf('a{}b'), 'a{}b', 'an empty tag hashes the whole key');
    assert.equal(KeySpace.tagOf('a{{b}'), '{{b}');
    assert.equal(KeySpace.tagOf('a}b{c}'), '{c}');
    assert.equal(KeySpace.tagOf('a{b'), 'a{b');
  });

  test('keys of user-chosen destinations with braces keep the partition tag (it comes first)', () => {
    fc.assert(
      fc.property(vhostArb, nameArb, (vhost, name) => {
        const k = new KeySpace('p', 8);
        assert.equal(KeySpace.tagOf(k.topic(vhost, name)), `{p.${k.partitionOf(vhost, name)}}`);
      }),
      RUNS,
    );
  });
});

describe('KeySpace with vhosts containing ":"', () => {
  // Keys join vhost and destination with ':', so ("v:/a", "/b") and ("v", "/a:/b") spell the same
  // key text; only a different partition tells them apart. STOMPEDE_VHOSTS accepts ':' in names.
  test('two (vhost, destination) pairs that spell the same key text are told apart', () => {
    // With the default 16 partitions these two land in the same one (14): the same stream.
    const k = new KeySpace('stompede', 16);
    assert.notEqual(k.topic('t:/topic/a0', '/topic/b'), k.topic('t', '/topic/a0:/topic/b'));
  });
});
