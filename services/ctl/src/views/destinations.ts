// Destinations as a table (`destinations`) and as one record with its subscribers per node
// (`destination <name>`).
import { DestinationKind, destinationKindToJSON, type Destination } from '@stompede/admin-api';
import { enumLabel, formatRate, renderPairs, renderTable, type Cell } from '../format.js';

const DESTINATION_COLUMNS = ['VHOST', 'NAME', 'KIND', 'SUBSCRIBERS', 'PUBLISH/S', 'DEPTH', 'PENDING', 'HISTORY'];

export function renderDestinationTable(destinations: readonly Destination[]): string {
  return renderTable(DESTINATION_COLUMNS, destinations.map(destinationRow));
}

function destinationRow(destination: Destination): Cell[] {
  const queue = isQueue(destination);
  return [
    destination.vhost,
    destination.name,
    kindLabel(destination),
    destination.subscribers,
    formatRate(destination.publishRate),
    queue ? destination.queueDepth : '-',
    queue ? destination.queuePending : '-',
    queue || destination.pattern ? '-' : destination.historyLength,
  ];
}

export function renderDestinationDetail(destination: Destination): string {
  const queue = isQueue(destination);
  const record = renderPairs([
    ['vhost', destination.vhost],
    ['name', destination.name],
    ['kind', kindLabel(destination)],
    ['subscribers', String(destination.subscribers)],
    ['publish/s', formatRate(destination.publishRate)],
    ...(queue
      ? [['queue depth', String(destination.queueDepth)] as const, ['queue pending', String(destination.queuePending)] as const]
      : destination.pattern ? [] : [['history', String(destination.historyLength)] as const]),
  ]);
  const byNode = renderTable(
    ['NODE', 'SUBSCRIBERS'],
    destination.subscribersByNode.map((entry) => [entry.nodeId, entry.subscribers]),
  );
  return `${record}\n\n${byNode}`;
}

function isQueue(destination: Destination): boolean {
  return destination.kind === DestinationKind.DESTINATION_KIND_QUEUE;
}

/** "topic", "queue", or "topic pattern" for a wildcard subscription. */
function kindLabel(destination: Destination): string {
  const kind = enumLabel(destinationKindToJSON(destination.kind), 'DESTINATION_KIND_');
  return destination.pattern ? `${kind} pattern` : kind;
}
