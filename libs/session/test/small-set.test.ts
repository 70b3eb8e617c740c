// SmallSet: nothing while empty, the bare member while it has one, a Set from the second on, and
// back to the bare member when the others leave.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hasMember, memberCount, membersOf, withMember, withoutMember, type SmallSet } from '../src/small-set.js';

const a = { name: 'a' };
const b = { name: 'b' };
const c = { name: 'c' };

describe('SmallSet', () => {
  test('empty, one, many, and back', () => {
    let s: SmallSet<typeof a> = undefined;
    assert.equal(memberCount(s), 0);
    assert.deepEqual(membersOf(s), []);
    s = withMember(s, a);
    assert.equal(s, a, 'one member is kept bare');
    assert.equal(withMember(s, a), a, 'adding it again changes nothing');
    s = withMember(s, b);
    assert.ok(s instanceof Set);
    s = withMember(s, c);
    assert.equal(memberCount(s), 3);
    assert.deepEqual(membersOf(s), [a, b, c], 'insertion order');
    s = withoutMember(s, b);
    assert.equal(memberCount(s), 2);
    s = withoutMember(s, a);
    assert.equal(s, c, 'the last one left is kept bare again');
    s = withoutMember(s, c);
    assert.equal(s, undefined);
  });

  test('membership; removing a stranger changes nothing', () => {
    let s: SmallSet<typeof a> = withMember(undefined, a);
    assert.equal(hasMember(s, a), true);
    assert.equal(hasMember(s, b), false);
    assert.equal(withoutMember(s, b), a);
    s = withMember(s, b);
    assert.equal(hasMember(s, b), true);
    assert.equal(hasMember(s, c), false);
    assert.equal(memberCount(withoutMember(s, c)), 2);
    assert.equal(hasMember(undefined, a), false);
  });

  test('membersOf is a copy: members may leave while it is walked', () => {
    let s: SmallSet<typeof a> = withMember(withMember(withMember(undefined, a), b), c);
    const seen = [];
    for (const m of membersOf(s)) {
      seen.push(m);
      s = withoutMember(s, m);
    }
    assert.deepEqual(seen, [a, b, c]);
    assert.equal(s, undefined);
  });
});
