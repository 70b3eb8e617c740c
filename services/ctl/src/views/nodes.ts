// Nodes as a table (`nodes`) and as one record (`node <id>`).
import { NodeState, nodeStateToJSON, type Node, type RedisStatus } from '@stompede/admin-api';
import {
  enumLabel, formatBytes, formatCores, formatDuration, formatRate, formatTime, renderPairs, renderTable, type Cell,
} from '../format.js';
import { drainSummary } from './drain.js';

const NODE_COLUMNS = ['ID', 'STATE', 'CONNS', 'SUBS', 'IN/S', 'OUT/S', 'CPU', 'RSS', 'LOOP LAG', 'REDIS', 'UPTIME', 'VERSION'];

export function renderNodeTable(nodes: readonly Node[]): string {
  return renderTable(NODE_COLUMNS, nodes.map(nodeRow));
}

function nodeRow(node: Node): Cell[] {
  const state = nodeStateLabel(node.state);
  // What an unreachable node would report is unknown; its error is the useful part.
  if (node.state === NodeState.NODE_STATE_UNREACHABLE) {
    return [node.id, state, { colSpan: NODE_COLUMNS.length - 2, content: node.error || 'no answer' }];
  }
  return [
    node.id, state, node.connectionsTotal, node.subscriptions,
    formatRate(node.messagesInPerSecond), formatRate(node.messagesOutPerSecond),
    formatCores(node.cpuCores), formatBytes(node.rssBytes), formatDuration(node.eventLoopLag),
    redisLabel(node.redis), formatDuration(node.uptime), node.version || '-',
  ];
}

export function nodeStateLabel(state: NodeState): string {
  return enumLabel(nodeStateToJSON(state), 'NODE_STATE_');
}

function redisLabel(redis: RedisStatus | undefined): string {
  if (redis === undefined || !redis.enabled) return 'off';
  return redis.up ? 'up' : 'down';
}

export function renderNodeDetail(node: Node): string {
  const pairs: Array<readonly [string, string]> = [
    ['id', node.id],
    ['state', nodeStateLabel(node.state)],
    ...(node.error ? [['error', node.error] as const] : []),
    ['version', node.version || '-'],
    ['started', formatTime(node.startedAt)],
    ['uptime', formatDuration(node.uptime)],
    ['websocket', node.addresses?.websocket || '-'],
    ['tcp', node.addresses?.tcp || 'off'],
    ['admin', node.addresses?.admin || '-'],
    ['connections', connectionsLabel(node)],
    ['subscriptions', String(node.subscriptions)],
    ['destinations', String(node.destinations)],
    ['messages in/s', formatRate(node.messagesInPerSecond)],
    ['messages out/s', formatRate(node.messagesOutPerSecond)],
    ['cpu', formatCores(node.cpuCores)],
    ['rss', formatBytes(node.rssBytes)],
    ['event loop lag (p99)', formatDuration(node.eventLoopLag)],
    ...redisPairs(node.redis),
    ...drainPairs(node),
  ];
  return renderPairs(pairs);
}

/** "42 (websocket 40, tcp 2)". */
function connectionsLabel(node: Node): string {
  const byTransport = Object.entries(node.connections)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([transport, count]) => `${transport} ${count}`);
  return byTransport.length === 0 ? String(node.connectionsTotal) : `${node.connectionsTotal} (${byTransport.join(', ')})`;
}

function redisPairs(redis: RedisStatus | undefined): Array<readonly [string, string]> {
  if (redis === undefined || !redis.enabled) return [['redis', 'off (single node)']];
  return [
    ['redis', redis.up ? 'up' : 'down'],
    ['redis read lag', formatDuration(redis.readLag)],
    ['redis round trip', formatDuration(redis.roundTrip)],
    ['live nodes', String(redis.liveNodes)],
  ];
}

function drainPairs(node: Node): Array<readonly [string, string]> {
  const drain = node.drain;
  if (drain === undefined) return [['drain', 'not draining']];
  return [
    ['drain', drainSummary(drain)],
    ['drain started', formatTime(drain.startedAt)],
    ['drain grace', formatDuration(drain.grace)],
    ['drain window', formatDuration(drain.window)],
    ['drain on shutdown', drain.shutdown ? 'yes (SIGTERM)' : 'no'],
  ];
}
