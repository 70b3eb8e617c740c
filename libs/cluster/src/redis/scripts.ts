// The Lua scripts (libs/cluster/lua/*.lua), read once when this module loads, for the operations
// that must be atomic on one key (and its hash-tag neighbours) or that batch many commands into one:
// each costs one round trip and stays valid in Redis Cluster.
import { readFileSync } from 'node:fs';
import { cmdBuffer, type Conn } from './connection.js';

export interface Script {
  readonly name: string;
  readonly source: string;
  /** How many of the arguments are keys. */
  readonly keys: number;
}

function load(name: string, keys: number): Script {
  return { name, keys, source: readFileSync(new URL(`../../lua/${name}.lua`, import.meta.url), 'utf8') };
}

export const ENQUEUE = load('enqueue', 2);
export const ACK = load('ack', 2);
export const RENEW = load('renew', 1);
export const ANNOUNCE = load('announce', 2);
export const PUBLISH = load('publish', 1);
export const FOLLOW = load('follow', 1);
export const TRIM = load('trim', 1);
export const RECOUNT = load('recount', 1);

/**
 * Runs a script with EVAL. Not EVALSHA with a NOSCRIPT fallback: with pipelining, the commands
 * that fail with NOSCRIPT (the first ones after start or after a Redis restart) would be retried
 * behind later ones and reorder a queue. Redis caches the compiled script by its hash, so EVAL
 * costs only the script's bytes on the wire.
 */
export function run(conn: Conn, s: Script, keys: readonly string[], args: readonly (string | number | Buffer)[]): Promise<unknown> {
  return cmdBuffer(conn, 'EVAL', [s.source, s.keys, ...keys, ...args]);
}
