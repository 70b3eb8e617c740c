// Password hashes of the users file: scrypt (node:crypto) in the PHC string format,
// `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>` (base64 without padding), so the cost parameters
// travel with each hash and can be raised for new entries without breaking old ones. Hashing and
// checking run on libuv's thread pool (crypto.scrypt), never on the event loop.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptCost {
  /** log2 of N, the CPU/memory cost. */
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

export interface PasswordHash extends ScryptCost {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** 2^15 x 8 x 128 bytes = 32 MiB and some tens of ms per check: slow for guessing, bearable at a reconnect storm. */
export const DEFAULT_COST: ScryptCost = { ln: 15, r: 8, p: 1 };

/** Memory one check may use; parameters needing more are refused when the hash is read. */
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export class PasswordHashError extends Error {}

/** Reads a PHC scrypt string; throws PasswordHashError naming what is wrong. */
export function parsePasswordHash(text: string): PasswordHash {
  const m = PHC.exec(text);
  if (m === null) throw new PasswordHashError('is not a scrypt hash "$scrypt$ln=..,r=..,p=..$<salt>$<hash>" (make one with stompede-ctl passwd)');
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  checkCost({ ln, r, p });
  const salt = Buffer.from(m[4]!, 'base64');
  const hash = Buffer.from(m[5]!, 'base64');
  if (salt.length < 8) throw new PasswordHashError('has a salt shorter than 8 bytes');
  if (hash.length < 16 || hash.length > 64) throw new PasswordHashError('has a hash that is not 16-64 bytes long');
  return { ln, r, p, salt, hash };
}

function checkCost({ ln, r, p }: ScryptCost): void {
  if (ln < 1 || ln > 24 || r < 1 || p < 1 || p > 16) throw new PasswordHashError(`has out-of-range scrypt parameters ln=${ln},r=${r},p=${p}`);
  if (memoryBytes({ ln, r, p }) > MAX_MEMORY_BYTES / 2) {
    throw new PasswordHashError(`needs more than ${MAX_MEMORY_BYTES / 2 / 1024 / 1024} MiB per check (ln=${ln}, r=${r})`);
  }
}

function memoryBytes({ ln, r }: ScryptCost): number {
  return 128 * 2 ** ln * r;
}

export function formatPasswordHash(h: PasswordHash): string {
  const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${h.ln},r=${h.r},p=${h.p}$${b64(h.salt)}$${b64(h.hash)}`;
}

function derive(password: string, salt: Buffer, length: number, cost: ScryptCost): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** cost.ln, r: cost.r, p: cost.p, maxmem: MAX_MEMORY_BYTES };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** A new hash of `password` with a random salt, as the users file stores it. */
export async function hashPassword(password: string, cost: ScryptCost = DEFAULT_COST): Promise<string> {
  checkCost(cost);
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, HASH_BYTES, cost);
  return formatPasswordHash({ ...cost, salt, hash });
}

/** Whether `password` matches; the comparison takes the same time wherever the bytes differ. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const derived = await derive(password, stored.salt, stored.hash.length, stored);
  return timingSafeEqual(derived, stored.hash);
}
