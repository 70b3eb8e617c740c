// Password hashes: scrypt in the PHC format, parameters carried in the string, checked off the
// event loop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPasswordHash, hashPassword, parsePasswordHash, PasswordHashError, verifyPassword } from '@stompede/auth';

const FAST = { ln: 10, r: 8, p: 1 };

test('a hash verifies its password and no other; each hash has its own salt', async () => {
  const a = await hashPassword('correct horse', FAST);
  const b = await hashPassword('correct horse', FAST);
  assert.notEqual(a, b);
  assert.match(a, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  assert.equal(await verifyPassword('correct horse', parsePasswordHash(a)), true);
  assert.equal(await verifyPassword('correct horse ', parsePasswordHash(a)), false);
  assert.equal(await verifyPassword('', parsePasswordHash(a)), false);
});

test('the cost parameters travel with the hash: a hash made with other ones still verifies', async () => {
  const h = await hashPassword('pw', { ln: 11, r: 4, p: 2 });
  const parsed = parsePasswordHash(h);
  assert.deepEqual([parsed.ln, parsed.r, parsed.p], [11, 4, 2]);
  assert.equal(await verifyPassword('pw', parsed), true);
  assert.equal(formatPasswordHash(parsed), h);
});

test('Unicode passwords are compared in one normal form (NFC)', async () => {
  const h = parsePasswordHash(await hashPassword('caf\u00e9', FAST));
  assert.equal(await verifyPassword('cafe\u0301', h), true);
});

test('checking does not block the event loop (the thread pool derives the key)', async () => {
  const h = parsePasswordHash(await hashPassword('pw', { ln: 15, r: 8, p: 1 }));
  let turns = 0;
  const ticker = setInterval(() => turns++, 0);
  await verifyPassword('pw', h);
  clearInterval(ticker);
  assert.ok(turns > 0, 'timers ran while the key was derived');
});

test('malformed or dangerous hashes are refused when read, with the reason', () => {
  const bad: [string, RegExp][] = [
    ['plaintext', /is not a scrypt hash/],
    ['$2b$10$abcdefghijklmnopqrstuv', /is not a scrypt hash/],
    ['$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', /out-of-range/],
    ['$scrypt$ln=20,r=64,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', /needs more than/],
    ['$scrypt$ln=10,r=8,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA', /salt shorter/],
    ['$scrypt$ln=10,r=8,p=1$c2FsdHNhbHQ$aGFzaA', /16-64 bytes/],
  ];
  for (const [text, reason] of bad) assert.throws(() => parsePasswordHash(text), (e: Error) => e instanceof PasswordHashError && reason.test(e.message), text);
});
