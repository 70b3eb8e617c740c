// CONNECT/STOMP negotiation: version, virtual host and heart-beats. A pure function of the frame's
// headers and the configuration, so every rule can be tested without a connection.
import { negotiateVersion, parseHeartBeat, SUPPORTED_VERSIONS, type Headers, type StompVersion } from '@stompede/stomp';
import type { SessionConfig } from './config.js';

export interface Connected {
  readonly version: StompVersion;
  readonly vhost: string;
  /** How often the server must send something, 0 = never. */
  readonly sendEveryMs: number;
  /** How often the client promised to send something, 0 = never. */
  readonly expectEveryMs: number;
  /** Headers of the CONNECTED frame (session and server are added by the caller). */
  readonly headers: [string, string][];
}

export interface Refused {
  readonly error: string;
  readonly detail: string;
  readonly headers?: [string, string][];
}

export function negotiateConnect(headers: Headers, config: SessionConfig): Connected | Refused {
  const version = negotiateVersion(headers.get('accept-version'));
  if (version === null) {
    const supported = [...SUPPORTED_VERSIONS].reverse().join(',');
    return {
      error: 'unsupported protocol version',
      detail: `Supported protocol versions are ${supported.replaceAll(',', ' ')}; the client accepts ${headers.get('accept-version')}.`,
      headers: [['version', supported]],
    };
  }
  const vhost = resolveVhost(headers.get('host'), config);
  if (vhost === null) {
    return {
      error: 'unknown virtual host',
      detail: `No virtual host "${headers.get('host')}". Configured: ${config.vhosts.join(', ')}; names meaning the default one: ${config.hostAliases.join(', ')} (STOMPEDE_VHOSTS, STOMPEDE_HOST_ALIASES).`,
    };
  }
  const out: [string, string][] = [['version', version]];
  // Heart-beating arrived with STOMP 1.1; a 1.0 client's header is not part of its protocol.
  if (version === '1.0') return { version, vhost, sendEveryMs: 0, expectEveryMs: 0, headers: out };
  const client = parseHeartBeat(headers.get('heart-beat'));
  if (client === null) {
    return {
      error: 'invalid heart-beat',
      detail: `heart-beat must be two non-negative integers "cx,cy", got "${headers.get('heart-beat')}".`,
    };
  }
  const [sx, sy] = config.heartbeatMs.map((v) => (v === 0 ? 0 : Math.max(v, config.heartbeatFloorMs))) as [number, number];
  // Spec "Heart-beating": each direction runs at the larger of what one side can do and the other
  // wants, and is off if either side says 0. We never stay silent longer than the ceiling (idle
  // proxies cut quiet connections), but cannot ask a client to beat faster than it said it can.
  const sendEveryMs = sx === 0 || client.receiveMs === 0 ? 0 : Math.min(Math.max(sx, client.receiveMs), config.heartbeatCeilingMs);
  const expectEveryMs = client.sendMs === 0 || sy === 0 ? 0 : Math.max(client.sendMs, sy);
  out.push(['heart-beat', `${sx},${sy}`]);
  return { version, vhost, sendEveryMs, expectEveryMs, headers: out };
}

function resolveVhost(host: string | undefined, config: SessionConfig): string | null {
  const fallback = config.vhosts[0]!;
  if (host === undefined) return fallback;
  if (config.vhosts.includes(host)) return host;
  // Aliases are DNS names, which are case-insensitive; vhost names are not (as in RabbitMQ).
  const lower = host.toLowerCase();
  if (config.hostAliases.some((a) => a.toLowerCase() === lower)) return fallback;
  return null;
}
