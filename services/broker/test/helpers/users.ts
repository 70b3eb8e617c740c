// A users file (STOMPEDE_USERS_FILE) for tests that need real logins: logins and their passwords,
// hashed with a low scrypt cost so that logins stay fast. Removed when the test file ends.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { hashPassword } from '@stompede/auth';

const FAST = { ln: 10, r: 8, p: 1 };

/** Writes a users file granting each login its password; returns its path. */
export async function usersFile(passwords: Readonly<Record<string, string>>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'stompede-users-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const lines = ['users:'];
  // Logins as YAML double-quoted scalars (JSON strings are), so that any character survives.
  for (const [login, password] of Object.entries(passwords)) lines.push(`  ${JSON.stringify(login)}:`, `    password: ${await hashPassword(password, FAST)}`);
  const file = join(dir, 'users.yaml');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
