// WildcardTrie and TopicIndex: which subscription patterns a topic name reaches. `*` is exactly one
// segment, `#` zero or more, segments are `.`-separated after the prefix, and the prefix is a
// segment of its own that no wildcard ever matches. TopicNode: the fan-out groups of one destination.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { splitName, TopicIndex, WildcardTrie } from '@stompede/session';
import type { StompVersion } from '@stompede/stomp';
import { Group } from '../src/group.js';
import { Outbox } from '../src/outbox.js';

const P = '/topic/'.length;

/** A trie of patterns (each maps to itself) queried with topic names. */
function trieOf(...patterns: string[]): WildcardTrie<string> {
  const t = new WildcardTrie<string>();
  for (const p of patterns) t.set(splitName(p, P), p);
  return t;
}

function matches(t: WildcardTrie<string>, name: string, prefixLength = P): string[] {
  return t.match(splitName(name, prefixLength)).sort();
}

describe('splitName', () => {
  test('the prefix is the first segment, then the dot-separated rest', () => {
    assert.deepEqual(splitName('/topic/a.b.c', P), ['/topic/', 'a', 'b', 'c']);
    assert.deepEqual(splitName('/topic/a/b.c', P), ['/topic/', 'a/b', 'c']);
    assert.deepEqual(splitName('/topic/a..b', P), ['/topic/', 'a', '', 'b']);
  });
});

describe('WildcardTrie', () => {
  test('* matches exactly one segment', () => {
    const t = trieOf('/topic/a.*');
    assert.deepEqual(matches(t, '/topic/a.b'), ['/topic/a.*']);
    assert.deepEqual(matches(t, '/topic/a'), []);
    assert.deepEqual(matches(t, '/topic/a.b.c'), []);
    assert.deepEqual(matches(t, '/topic/x.b'), []);
  });

  test('* in the middle', () => {
    const t = trieOf('/topic/a.*.c');
    assert.deepEqual(matches(t, '/topic/a.b.c'), ['/topic/a.*.c']);
    assert.deepEqual(matches(t, '/topic/a.c'), []);
    assert.deepEqual(matches(t, '/topic/a.b.x.c'), []);
  });

  test('# matches zero or more segments at the end', () => {
    const t = trieOf('/topic/a.#');
    assert.deepEqual(matches(t, '/topic/a'), ['/topic/a.#']);
    assert.deepEqual(matches(t, '/topic/a.b'), ['/topic/a.#']);
    assert.deepEqual(matches(t, '/topic/a.b.c.d'), ['/topic/a.#']);
    assert.deepEqual(matches(t, '/topic/b.a'), []);
  });

  test('a.#.b: # between fixed segments', () => {
    const t = trieOf('/topic/a.#.b');
    for (const n of ['/topic/a.b', '/topic/a.x.b', '/topic/a.x.y.b', '/topic/a.b.b']) {
      assert.deepEqual(matches(t, n), ['/topic/a.#.b'], n);
    }
    for (const n of ['/topic/a', '/topic/a.b.c', '/topic/b', '/topic/x.a.b']) {
      assert.deepEqual(matches(t, n), [], n);
    }
  });

  test('# alone matches every name under its prefix', () => {
    const t = trieOf('/topic/#');
    for (const n of ['/topic/a', '/topic/a.b.c', '/topic/']) assert.deepEqual(matches(t, n), ['/topic/#'], n);
  });

  test('#.# behaves like # (and reports the pattern once)', () => {
    const t = trieOf('/topic/#.#');
    for (const n of ['/topic/a', '/topic/a.b', '/topic/a.b.c.d.e']) assert.deepEqual(matches(t, n), ['/topic/#.#'], n);
  });

  test('*.# needs at least one segment; #.* too', () => {
    const t = trieOf('/topic/*.#', '/topic/#.*');
    assert.deepEqual(matches(t, '/topic/a'), ['/topic/#.*', '/topic/*.#']);
    assert.deepEqual(matches(t, '/topic/a.b.c'), ['/topic/#.*', '/topic/*.#']);
    assert.deepEqual(t.match(['/topic/']), []);
  });

  test('overlapping patterns each match once', () => {
    const t = trieOf('/topic/a.*', '/topic/*.b', '/topic/#', '/topic/a.#', '/topic/a.b', '/topic/x.*');
    assert.deepEqual(matches(t, '/topic/a.b'), ['/topic/#', '/topic/*.b', '/topic/a.#', '/topic/a.*', '/topic/a.b']);
  });

  test('the prefix is never matched by a wildcard', () => {
    const t = new WildcardTrie<string>();
    t.set(splitName('/topic/#', P), 'topic-all');
    t.set(['*', 'a'], 'star-prefix');
    // A queue (or another topic prefix) with the same tail is not reached.
    assert.deepEqual(t.match(splitName('/queue/a', P)), []);
    assert.deepEqual(t.match(splitName('/other/a', '/other/'.length)), []);
    // "*" in the prefix position is literal, not a wildcard.
    assert.deepEqual(t.match(splitName('/topic/a', P)), ['topic-all']);
    assert.deepEqual(t.match(['*', 'a']), ['star-prefix']);
  });

  test('literal segments that look like wildcards only match themselves', () => {
    const t = trieOf('/topic/a*', '/topic/a/#');
    assert.deepEqual(matches(t, '/topic/ab'), []);
    assert.deepEqual(matches(t, '/topic/a*'), ['/topic/a*']);
    assert.deepEqual(matches(t, '/topic/a/x'), []);
  });

  test('size counts patterns; set on an existing pattern replaces its value', () => {
    const t = new WildcardTrie<number>();
    t.set(splitName('/topic/a.*', P), 1);
    t.set(splitName('/topic/a.*', P), 2);
    t.set(splitName('/topic/#', P), 3);
    assert.equal(t.size, 2);
    assert.deepEqual(t.match(splitName('/topic/a.b', P)).sort(), [2, 3]);
  });

  test('delete removes only that pattern and cleans up empty branches', () => {
    const t = trieOf('/topic/a.*.c', '/topic/a.#');
    t.delete(splitName('/topic/a.*.c', P));
    assert.equal(t.size, 1);
    assert.deepEqual(matches(t, '/topic/a.b.c'), ['/topic/a.#']);
    t.delete(splitName('/topic/a.#', P));
    assert.equal(t.size, 0);
    assert.deepEqual(matches(t, '/topic/a.b.c'), []);
    // Nothing is left behind: the root has no children (checked through the private field,
    // since leaked branches are invisible to match()).
    const root = (t as unknown as { root: { children: Map<string, unknown> } }).root;
    assert.equal(root.children.size, 0);
  });

  test('delete keeps a prefix pattern when a longer one is removed, and vice versa', () => {
    const t = trieOf('/topic/a.*', '/topic/a.*.c');
    t.delete(splitName('/topic/a.*.c', P));
    assert.deepEqual(matches(t, '/topic/a.b'), ['/topic/a.*']);
    t.set(splitName('/topic/a.*.c', P), '/topic/a.*.c');
    t.delete(splitName('/topic/a.*', P));
    assert.deepEqual(matches(t, '/topic/a.b'), []);
    assert.deepEqual(matches(t, '/topic/a.b.c'), ['/topic/a.*.c']);
  });

  test('deleting an unknown pattern or an inner node changes nothing', () => {
    const t = trieOf('/topic/a.b.*');
    t.delete(splitName('/topic/a.b', P));
    t.delete(splitName('/topic/zz.*', P));
    assert.equal(t.size, 1);
    assert.deepEqual(matches(t, '/topic/a.b.c'), ['/topic/a.b.*']);
  });
});

describe('TopicIndex', () => {
  test('exact destinations and patterns are separate', () => {
    const ix = new TopicIndex();
    const exact = ix.ensure('/topic/a.b', P, false);
    const wild = ix.ensure('/topic/a.*', P, true);
    assert.equal(exact.created, true);
    assert.equal(wild.created, true);
    assert.equal(ix.size, 2);
    assert.equal(ix.exactNode('/topic/a.b'), exact.node);
    assert.equal(ix.exactNode('/topic/a.*'), undefined);
    assert.deepEqual(ix.wildcardNodes('/topic/a.b', P), [wild.node]);
  });

  test('ensure returns the existing node', () => {
    const ix = new TopicIndex();
    const a = ix.ensure('/topic/a.#', P, true);
    const b = ix.ensure('/topic/a.#', P, true);
    assert.equal(b.created, false);
    assert.equal(b.node, a.node);
  });

  test('the match cache is invalidated when a pattern is added', () => {
    const ix = new TopicIndex();
    ix.ensure('/topic/zzz', P, true); // some pattern, so lookups go through the cache
    assert.deepEqual(ix.wildcardNodes('/topic/a.b', P), []);
    const { node } = ix.ensure('/topic/a.*', P, true);
    assert.deepEqual(ix.wildcardNodes('/topic/a.b', P), [node]);
    const hash = ix.ensure('/topic/#', P, true).node;
    assert.deepEqual(new Set(ix.wildcardNodes('/topic/a.b', P)), new Set([node, hash]));
  });

  test('the match cache is invalidated when a pattern is removed', () => {
    const ix = new TopicIndex();
    const { node } = ix.ensure('/topic/a.*', P, true);
    assert.deepEqual(ix.wildcardNodes('/topic/a.b', P), [node]);
    ix.remove(node);
    assert.equal(ix.size, 0);
    assert.deepEqual(ix.wildcardNodes('/topic/a.b', P), []);
    // Re-created under the same pattern: a new node, and lookups find the new one.
    const again = ix.ensure('/topic/a.*', P, true).node;
    assert.notEqual(again, node);
    assert.deepEqual(ix.wildcardNodes('/topic/a.b', P), [again]);
  });

  test('removing a stale node does not remove its replacement', () => {
    const ix = new TopicIndex();
    const old = ix.ensure('/topic/a.*', P, true).node;
    ix.remove(old);
    const fresh = ix.ensure('/topic/a.*', P, true).node;
    ix.remove(old);
    assert.deepEqual(ix.wildcardNodes('/topic/a.b', P), [fresh]);
    const e1 = ix.ensure('/topic/x', P, false).node;
    ix.remove(e1);
    const e2 = ix.ensure('/topic/x', P, false).node;
    ix.remove(e1);
    assert.equal(ix.exactNode('/topic/x'), e2);
  });

  test('nodes() lists exact and wildcard nodes', () => {
    const ix = new TopicIndex();
    ix.ensure('/topic/a', P, false);
    ix.ensure('/topic/#', P, true);
    assert.deepEqual([...ix.nodes()].map((n) => n.pattern).sort(), ['/topic/#', '/topic/a']);
  });
});

describe('TopicNode groups', () => {
  const outbox = new Outbox(true, null, () => {});
  const group = (seq: number, id: string, version: StompVersion): Group => new Group(seq, id, version, outbox, 1024);

  test('one group is kept bare, more by subscription id and version, and back to one', () => {
    const node = new TopicIndex<object>().ensure('/topic/a', P, false).node;
    assert.equal(node.empty, true);
    const a12 = group(1, 'sub-0', '1.2');
    node.addGroup(a12);
    assert.equal(node.groups, a12);
    assert.equal(node.group('sub-0', '1.2'), a12);
    assert.equal(node.group('sub-0', '1.1'), undefined, 'another version escapes headers differently');
    assert.equal(node.group('sub-1', '1.2'), undefined);
    const a11 = group(2, 'sub-0', '1.1');
    const b12 = group(3, 'sub-1', '1.2');
    node.addGroup(a11);
    node.addGroup(b12);
    assert.ok(node.groups instanceof Map);
    assert.deepEqual([node.group('sub-0', '1.2'), node.group('sub-0', '1.1'), node.group('sub-1', '1.2')], [a12, a11, b12]);
    assert.deepEqual([...node.groupList()], [a12, a11, b12]);
    node.removeGroup(a12);
    assert.equal(node.group('sub-0', '1.2'), undefined);
    node.removeGroup(a11);
    assert.equal(node.groups, b12, 'the last group left is kept bare again');
    node.removeGroup(a11);
    assert.equal(node.groups, b12, 'removing a group that is not there changes nothing');
    node.removeGroup(b12);
    assert.equal(node.empty, true);
    assert.deepEqual([...node.groupList()], []);
  });

  test('the node is its subscribers\' destination', () => {
    const node = new TopicIndex<object>().ensure('/topic/a.*', P, true).node;
    assert.deepEqual({ kind: node.kind, name: node.name, prefixLength: node.prefixLength, wildcard: node.wildcard }, { kind: 'topic', name: '/topic/a.*', prefixLength: P, wildcard: true });
  });
});

