// The users file: logins, their password hashes and groups, in YAML (JSON is valid YAML too).
//
//   users:
//     alice:
//       password: $scrypt$ln=15,r=8,p=1$<salt>$<hash>
//       groups: [traders, ops]
//
// Read strictly: an unknown key (a typo such as `group:`) or a malformed hash is an error naming the
// login, so that a broken edit is rejected whole rather than half applied. `setUserEntry` is what
// `stompede-ctl passwd` writes with: it edits the document in place, keeping comments and order.
import { Document, isMap, parse, parseDocument, YAMLParseError } from 'yaml';
import { parsePasswordHash, PasswordHashError, type PasswordHash } from './password.js';

export interface UserEntry {
  readonly login: string;
  readonly password: PasswordHash;
  readonly groups: readonly string[];
}

export type UserTable = ReadonlyMap<string, UserEntry>;

export class UsersFileError extends Error {}

const USER_KEYS = new Set(['password', 'groups']);
const MAX_NAME_LENGTH = 256;

/** Problems with a login or group name, or undefined when it is acceptable. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_NAME_LENGTH) return `is longer than ${MAX_NAME_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains control characters';
  return undefined;
}

export function parseUsersFile(text: string): UserTable {
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    if (err instanceof YAMLParseError) throw new UsersFileError(`not valid YAML: ${err.message}`);
    throw err;
  }
  if (!isRecord(doc)) throw new UsersFileError('expected a mapping with a "users:" key at the top');
  for (const key of Object.keys(doc)) if (key !== 'users') throw new UsersFileError(`unknown top-level key "${key}" (only "users")`);
  const users = doc['users'] ?? {};
  if (!isRecord(users)) throw new UsersFileError('"users" must map each login to its entry');
  const table = new Map<string, UserEntry>();
  for (const [login, entry] of Object.entries(users)) table.set(login, userEntry(login, entry));
  return table;
}

function userEntry(login: string, entry: unknown): UserEntry {
  const where = `user "${login}"`;
  const problem = nameProblem(login);
  if (problem !== undefined) throw new UsersFileError(`the login of ${where} ${problem}`);
  if (!isRecord(entry)) throw new UsersFileError(`${where}: expected "password:" and optionally "groups:"`);
  for (const key of Object.keys(entry)) if (!USER_KEYS.has(key)) throw new UsersFileError(`${where}: unknown key "${key}" (password, groups)`);
  const password = entry['password'];
  if (typeof password !== 'string') throw new UsersFileError(`${where}: "password" must be a scrypt hash string`);
  let hash: PasswordHash;
  try {
    hash = parsePasswordHash(password);
  } catch (err) {
    if (err instanceof PasswordHashError) throw new UsersFileError(`${where}: the password ${err.message}`);
    throw err;
  }
  return { login, password: hash, groups: groupList(where, entry['groups']) };
}

function groupList(where: string, groups: unknown): string[] {
  if (groups === undefined || groups === null) return [];
  if (!Array.isArray(groups)) throw new UsersFileError(`${where}: "groups" must be a list of names`);
  return groups.map((g: unknown) => {
    if (typeof g !== 'string') throw new UsersFileError(`${where}: every group must be a string`);
    const problem = nameProblem(g);
    if (problem !== undefined) throw new UsersFileError(`${where}: a group name ${problem}`);
    return g;
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The users file `text` (empty: a new file) with `login`'s password hash set, and its groups
 * replaced when `groups` is given (kept otherwise). Refuses to edit a file that does not parse.
 */
export function setUserEntry(text: string, login: string, passwordHash: string, groups: readonly string[] | undefined): string {
  if (text.trim() !== '') parseUsersFile(text);
  const doc = text.trim() === '' ? new Document({ users: {} }) : parseDocument(text);
  if (!isMap(doc.get('users'))) doc.set('users', doc.createNode({}));
  doc.setIn(['users', login, 'password'], passwordHash);
  if (groups !== undefined) {
    const node = doc.createNode([...groups]);
    node.flow = true;
    doc.setIn(['users', login, 'groups'], node);
  }
  const out = doc.toString();
  // What is written must read back: never hand the broker a file it would reject.
  parseUsersFile(out);
  return out;
}
