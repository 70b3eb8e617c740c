// A node's client connections as the admin API shows them, filtered and paged by session ordinal
// (sessions are numbered in the order they connected).
import { ConnectionState, durationFromMs, Transport, type Connection } from '@stompede/admin-api';
import type { Hub, Session } from '@stompede/session';

export interface ConnectionFilter {
  readonly login: string;
  readonly remoteAddress: string;
  readonly destination: string;
}

export interface ConnectionPage {
  readonly rows: Connection[];
  /** Ordinal of the last row, when more rows may follow on this node. */
  readonly more: number | undefined;
}

/** Up to `limit` connections after ordinal `after` that pass `filter`. */
export function listConnections(hub: Hub, nodeId: string, filter: ConnectionFilter, after: number, limit: number): ConnectionPage {
  const rows: Connection[] = [];
  let last = after;
  for (const session of hub.list()) {
    const ordinal = sessionOrdinal(session.id);
    if (ordinal <= after || !matches(session, filter)) continue;
    if (rows.length === limit) return { rows, more: last };
    rows.push(connectionRow(session, nodeId));
    last = ordinal;
  }
  return { rows, more: undefined };
}

/** Session ids are base-36 counters (hub.ts). */
export function sessionOrdinal(id: string): number {
  return parseInt(id, 36);
}

function matches(session: Session, filter: ConnectionFilter): boolean {
  if (filter.login !== '' && session.login !== filter.login) return false;
  if (filter.remoteAddress !== '' && !session.transport.remoteAddress.startsWith(filter.remoteAddress)) return false;
  if (filter.destination === '') return true;
  for (const sub of session.subscriptionList()) if (sub.destination.name === filter.destination) return true;
  return false;
}

function connectionRow(session: Session, nodeId: string): Connection {
  const connected = session.state !== 'connecting';
  return {
    sessionId: `${nodeId}:${session.id}`,
    nodeId,
    transport: TRANSPORTS[session.transport.kind] ?? Transport.TRANSPORT_UNSPECIFIED,
    remoteAddress: session.transport.remoteAddress,
    state: STATES[session.state],
    stompVersion: connected ? session.version : '',
    login: session.login ?? '',
    vhost: session.vhost,
    heartBeatSend: durationFromMs(session.sendEveryMs),
    heartBeatReceive: durationFromMs(session.expectEveryMs),
    subscriptions: session.subscriptionCount,
    pendingOutboundBytes: session.pendingBytes,
    unacked: session.unackedCount,
    connectedSince: new Date(session.openedMs),
  };
}

const TRANSPORTS: Record<string, Transport> = { ws: Transport.TRANSPORT_WEBSOCKET, tcp: Transport.TRANSPORT_TCP, sockjs: Transport.TRANSPORT_SOCKJS };

const STATES: Record<Session['state'], ConnectionState> = {
  connecting: ConnectionState.CONNECTION_STATE_CONNECTING,
  connected: ConnectionState.CONNECTION_STATE_CONNECTED,
  closing: ConnectionState.CONNECTION_STATE_CLOSING,
  closed: ConnectionState.CONNECTION_STATE_CLOSING,
};

/** Names the admin API uses for transport kinds. */
export function transportName(kind: string): string {
  return kind === 'ws' ? 'websocket' : kind;
}
