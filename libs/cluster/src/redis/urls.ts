// STOMPEDE_REDIS_URL: one redis:// or rediss:// (TLS) URL for a Redis server, several for the seeds
// of a Redis Cluster. ioredis reads a single URL whole (TLS, credentials, database, ?options). A
// Cluster instead takes host/port seeds and one set of options for the connections to every node
// it discovers, so the seeds must agree on everything else; those options are built here.
import { isIP } from 'node:net';
import type { ClusterOptions } from 'ioredis';

type NodeOptions = NonNullable<ClusterOptions['redisOptions']>;

export interface ClusterSeeds {
  readonly seeds: { host: string; port: number }[];
  /** For every node connection: credentials, the seeds' ?options, and TLS for rediss://. */
  readonly redisOptions: NodeOptions;
}

const DEFAULT_PORT = 6379;

/** What is wrong with these URLs (never showing a password), or undefined. */
export function redisUrlProblem(urls: readonly string[]): string | undefined {
  const parsed: URL[] = [];
  for (const [i, text] of urls.entries()) {
    const url = URL.canParse(text) ? new URL(text) : undefined;
    if (url === undefined || !['redis:', 'rediss:'].includes(url.protocol) || url.hostname === '') return `entry ${i + 1} is not a redis:// or rediss:// URL with a host`;
    if (!/^\/?(\d+)?$/.test(url.pathname)) return `${where(url)}: the path must be a database number, got "${url.pathname}"`;
    parsed.push(url);
  }
  return parsed.length > 1 ? seedProblem(parsed) : undefined;
}

/** The seeds of a Redis Cluster must differ in host and port only: ioredis uses one set of options for every node. */
function seedProblem(seeds: readonly URL[]): string | undefined {
  const first = seeds[0]!;
  for (const seed of seeds) {
    if (database(seed) !== 0) return `${where(seed)}: a Redis Cluster has only database 0, the seed names database ${database(seed)}`;
    if (seed.protocol !== first.protocol) {
      return `Redis Cluster seeds must all be redis:// or all rediss:// (TLS): ${where(first)} is ${first.protocol}//, ${where(seed)} is ${seed.protocol}//`;
    }
    if (seed.username !== first.username || seed.password !== first.password) {
      return `Redis Cluster seeds must all carry the same username and password (every node is logged in with one): ${where(seed)} differs from ${where(first)}`;
    }
    if (seed.search !== first.search) return `Redis Cluster seeds must all carry the same ?options: ${where(seed)} differs from ${where(first)}`;
  }
  return undefined;
}

/** A Cluster's seeds and node options; throws on URLs redisUrlProblem refuses. */
export function clusterSeeds(urls: readonly string[]): ClusterSeeds {
  const problem = redisUrlProblem(urls);
  if (problem !== undefined) throw new Error(`STOMPEDE_REDIS_URL: ${problem}`);
  const parsed = urls.map((u) => new URL(u));
  const seeds = parsed.map((url) => ({ host: host(url), port: Number(url.port || DEFAULT_PORT) }));
  const first = parsed[0]!;
  const redisOptions: NodeOptions = { ...queryOptions(first) };
  if (first.username !== '' || first.password !== '') {
    redisOptions.username = decodeURIComponent(first.username) || undefined;
    redisOptions.password = decodeURIComponent(first.password);
  }
  if (first.protocol === 'rediss:') redisOptions.tls = tlsOptions(host(first));
  return { seeds, redisOptions };
}

/**
 * ioredis dials the nodes of a cluster by the addresses CLUSTER SLOTS gives (IPs, usually), and
 * even the seeds after a DNS lookup: the certificate would be checked against an IP. The seed's
 * host name is what the certificate names, so it is the name checked (and sent as SNI). A seed
 * given as an IP has no name to send: the certificate must then carry the nodes' IPs.
 */
function tlsOptions(seedHost: string): NonNullable<NodeOptions['tls']> {
  return isIP(seedHost) === 0 ? { servername: seedHost } : {};
}

/** ?name=value options, as ioredis reads them from a single URL (family as a number). */
function queryOptions(url: URL): Record<string, string | number> {
  const options: Record<string, string | number> = {};
  for (const [key, value] of url.searchParams) options[key] = key === 'family' && /^\d+$/.test(value) ? Number(value) : value;
  return options;
}

function database(url: URL): number {
  return Number(url.pathname.slice(1) || 0);
}

function host(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/** host:port of a URL, for messages (its credentials stay out of logs). */
function where(url: URL): string {
  return `${url.protocol}//${url.host}`;
}
