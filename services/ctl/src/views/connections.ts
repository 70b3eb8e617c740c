// Client connections as a table.
import { connectionStateToJSON, transportToJSON, type Connection } from '@stompede/admin-api';
import { enumLabel, formatBytes, formatTime, renderTable, type Cell } from '../format.js';

const CONNECTION_COLUMNS = [
  'SESSION', 'NODE', 'TRANSPORT', 'REMOTE', 'STATE', 'VERSION', 'LOGIN', 'SUBS', 'UNACKED', 'PENDING', 'SINCE',
];

export function renderConnectionTable(connections: readonly Connection[]): string {
  return renderTable(CONNECTION_COLUMNS, connections.map(connectionRow));
}

function connectionRow(connection: Connection): Cell[] {
  return [
    connection.sessionId,
    connection.nodeId,
    enumLabel(transportToJSON(connection.transport), 'TRANSPORT_'),
    connection.remoteAddress,
    enumLabel(connectionStateToJSON(connection.state), 'CONNECTION_STATE_'),
    connection.stompVersion || '-',
    connection.login || '-',
    connection.subscriptions,
    connection.unacked,
    formatBytes(connection.pendingOutboundBytes),
    formatTime(connection.connectedSince),
  ];
}
