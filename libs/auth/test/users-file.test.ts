// The users file: strict reading (a typo is an error naming the user), and the edit
// `stompede-ctl passwd` makes, which keeps comments, order and the other users.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { hashPassword, parseUsersFile, setUserEntry, UsersFileError, verifyPassword } from '@stompede/auth';

const FAST = { ln: 10, r: 8, p: 1 };

test('logins, hashes and groups are read; JSON is accepted too', async () => {
  const alice = await hashPassword('a', FAST);
  const bob = await hashPassword('b', FAST);
  const table = parseUsersFile(`users:\n  alice:\n    password: ${alice}\n    groups: [ops, traders]\n  bob:\n    password: ${bob}\n`);
  assert.deepEqual([...table.keys()], ['alice', 'bob']);
  assert.deepEqual(table.get('alice')!.groups, ['ops', 'traders']);
  assert.deepEqual(table.get('bob')!.groups, []);
  assert.equal(await verifyPassword('a', table.get('alice')!.password), true);
  const json = parseUsersFile(JSON.stringify({ users: { carol: { password: bob, groups: ['x'] } } }));
  assert.deepEqual(json.get('carol')!.groups, ['x']);
  assert.equal(parseUsersFile('users: {}\n').size, 0);
});

test('what is wrong is said, naming the user', async () => {
  const h = await hashPassword('a', FAST);
  const cases: [string, RegExp][] = [
    ['', /"users:" key/],
    ['- a\n- b\n', /"users:" key/],
    ['userz: {}\n', /unknown top-level key "userz"/],
    ['users: [a]\n', /map each login/],
    [`users:\n  alice:\n    password: ${h}\n    group: [ops]\n`, /user "alice": unknown key "group"/],
    ['users:\n  alice:\n    password: hunter2\n', /user "alice": the password is not a scrypt hash/],
    ['users:\n  alice: {}\n', /user "alice": "password" must be/],
    [`users:\n  alice:\n    password: ${h}\n    groups: ops\n`, /"groups" must be a list/],
    [`users:\n  alice:\n    password: ${h}\n    groups: [1]\n`, /every group must be a string/],
    [`users:\n  alice:\n    password: ${h}\n  alice:\n    password: ${h}\n`, /not valid YAML/],
    ['users: {alice: [unclosed\n', /not valid YAML/],
  ];
  for (const [text, reason] of cases) {
    assert.throws(() => parseUsersFile(text), (e: Error) => e instanceof UsersFileError && reason.test(e.message), JSON.stringify(text));
  }
});

test('setUserEntry creates a file, adds and updates users, keeps comments and other users, replaces groups only when given', async () => {
  const h1 = await hashPassword('one', FAST);
  const h2 = await hashPassword('two', FAST);
  let text = setUserEntry('', 'alice', h1, ['ops']);
  assert.deepEqual(parseUsersFile(text).get('alice')!.groups, ['ops']);
  text = `# service accounts, managed with stompede-ctl passwd\n${text}`;
  text = setUserEntry(text, 'bob', h1, undefined);
  text = setUserEntry(text, 'alice', h2, undefined);
  const table = parseUsersFile(text);
  assert.match(text, /^# service accounts/);
  assert.deepEqual([...table.keys()], ['alice', 'bob']);
  assert.deepEqual(table.get('alice')!.groups, ['ops'], 'groups kept');
  assert.equal(await verifyPassword('two', table.get('alice')!.password), true);
  text = setUserEntry(text, 'alice', h2, ['a', 'b']);
  assert.deepEqual(parseUsersFile(text).get('alice')!.groups, ['a', 'b']);
  assert.throws(() => setUserEntry('users: [broken\n', 'x', h1, undefined), UsersFileError);
});

test('the example in docs/security.md is a valid users file, and its hash is of the password it names', async () => {
  const doc = readFileSync(new URL('../../../docs/security.md', import.meta.url), 'utf8');
  const example = /### Static users[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(example, 'the yaml example');
  const alice = parseUsersFile(example).get('alice')!;
  assert.deepEqual(alice.groups, ['ops', 'traders']);
  assert.equal(await verifyPassword('wonderland', alice.password), true);
});
