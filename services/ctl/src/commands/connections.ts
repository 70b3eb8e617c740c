// `connections` (paged, filtered) and `kick <session>`.
import { Option, type Command } from 'commander';
import { CloseConnectionResponse, ListConnectionsResponse, type Connection } from '@stompede/admin-api';
import { withApi, type CommandContext } from '../action.js';
import { parsePositiveInteger } from '../options.js';
import { note, printJson, printText, warnUnreachable } from '../output.js';
import { collectPages, type Page } from '../paging.js';
import { renderConnectionTable } from '../views/connections.js';

interface ConnectionsOptions {
  readonly node?: string;
  readonly destination?: string;
  readonly login?: string;
  readonly remote?: string;
  readonly limit: number;
}

interface KickOptions {
  readonly reason: string;
}

export function registerConnectionCommands(program: Command): void {
  program
    .command('connections')
    .description('list client connections, in node order and then in the order they connected')
    .option('--node <id>', 'only this node (default: every node)')
    .option('--destination <name>', 'only connections subscribed to exactly this destination or pattern')
    .option('--login <login>', 'only connections whose CONNECT login is exactly this')
    .option('--remote <prefix>', 'only remote addresses starting with this (an IP, or ip:port)')
    .addOption(new Option('--limit <n>', 'at most this many rows').argParser(parsePositiveInteger).default(100))
    .action((options: ConnectionsOptions, command: Command) => withApi(command, (context) => listConnections(context, options)));
  program
    .command('kick')
    .description('send a client an ERROR with the reason and close its connection')
    .argument('<session>', 'the session id, "<node id>:<session>" as `connections` shows it')
    .option('--reason <text>', 'what the client is told', 'closed by stompede-ctl')
    .action((session: string, options: KickOptions, command: Command) =>
      withApi(command, (context) => kick(context, session, options)));
}

async function listConnections({ api, json }: CommandContext, options: ConnectionsOptions): Promise<void> {
  const filter = {
    nodeId: options.node ?? '',
    destination: options.destination ?? '',
    login: options.login ?? '',
    remoteAddress: options.remote ?? '',
  };
  const collected = await collectPages(async (pageToken, pageSize): Promise<Page<Connection>> => {
    const page = await api.listConnections({ ...filter, pageToken, pageSize });
    return { rows: page.connections, nextPageToken: page.nextPageToken, unreachableNodes: page.unreachableNodes };
  }, options.limit);
  if (json) {
    const { rows, nextPageToken, unreachableNodes } = collected;
    return printJson(ListConnectionsResponse.toJSON({ connections: [...rows], nextPageToken, unreachableNodes: [...unreachableNodes] }));
  }
  warnUnreachable(collected.unreachableNodes);
  printText(renderConnectionTable(collected.rows));
  if (collected.nextPageToken !== '') note(`showing the first ${collected.rows.length} connections; --limit shows more`);
}

async function kick({ api, json }: CommandContext, sessionId: string, options: KickOptions): Promise<void> {
  const response = await api.closeConnection({ sessionId, reason: options.reason });
  if (json) printJson(CloseConnectionResponse.toJSON(response));
  else printText(`closed ${sessionId} on node ${response.nodeId}`);
}
