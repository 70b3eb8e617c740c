// The trimmer's judgement of which consumer groups belong to nodes gone for good, without Redis: a
// group is doomed only by a registry read sent after it was seen, and only while its node is missing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadGroups } from '../src/redis/dead-groups.js';

const read = (readAtMs: number, ...ids: string[]) => ({ ids: new Set(ids), readAtMs });

test('a group seen without its node is destroyed only after a later registry read lacks the node too', () => {
  const dead = new DeadGroups();
  dead.seen('s', ['gone'], 1_000);
  assert.deepEqual(dead.doomed('s', read(999, 'a')), [], 'the read is older than the sighting');
  assert.deepEqual(dead.doomed('s', read(1_000, 'a')), [], 'the same millisecond is not after');
  assert.deepEqual(dead.doomed('s', read(1_001, 'a')), ['gone']);
});

test('a node that registered after the read keeps its group: the next read lists it', () => {
  const dead = new DeadGroups();
  dead.seen('s', ['newcomer'], 1_000);
  assert.deepEqual(dead.doomed('s', read(1_500, 'a', 'newcomer')), []);
  // Its next pass, given the ids of that read, no longer reports it.
  dead.seen('s', [], 1_600);
  assert.deepEqual(dead.doomed('s', read(2_000, 'a')), [], 'forgotten once known: a new sighting starts over');
});

test('the first sighting counts: seeing a group again does not push its time forward', () => {
  const dead = new DeadGroups();
  dead.seen('s', ['gone'], 1_000);
  dead.seen('s', ['gone'], 3_000);
  assert.deepEqual(dead.doomed('s', read(2_000)), ['gone']);
});

test('a pass given no registry read changes nothing; streams not measured are forgotten; streams are apart', () => {
  const dead = new DeadGroups();
  dead.seen('s', ['gone'], 1_000);
  dead.seen('s', undefined, 2_000);
  assert.deepEqual(dead.doomed('s', read(1_500)), ['gone']);
  assert.deepEqual(dead.doomed('s', undefined), [], 'no read, no verdict');
  assert.deepEqual(dead.doomed('t', read(1_500)), [], 'another stream');
  dead.keepOnly(new Set(['t']));
  assert.deepEqual(dead.doomed('s', read(1_500)), []);
});
