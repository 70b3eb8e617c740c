// `nodes` and `node <id>`.
import type { Command } from 'commander';
import { GetNodeResponse, ListNodesResponse } from '@stompede/admin-api';
import { withApi, type CommandContext } from '../action.js';
import { CliError, EXIT } from '../exit.js';
import { printJson, printText } from '../output.js';
import { renderNodeDetail, renderNodeTable } from '../views/nodes.js';

export function registerNodeCommands(program: Command): void {
  program
    .command('nodes')
    .description('list the nodes of the cluster, the answering one first; unreachable ones with their error')
    .action((_options: object, command: Command) => withApi(command, listNodes));
  program
    .command('node')
    .description('show one node: addresses, connections by transport, Redis, drain')
    .argument('<id>', 'the node (its STOMPEDE_NODE_ID)')
    .action((id: string, _options: object, command: Command) => withApi(command, (context) => showNode(context, id)));
}

async function listNodes({ api, json }: CommandContext): Promise<void> {
  const response = await api.listNodes();
  if (json) printJson(ListNodesResponse.toJSON(response));
  else printText(renderNodeTable(response.nodes));
}

async function showNode({ api, json }: CommandContext, id: string): Promise<void> {
  const response = await api.getNode(id);
  if (json) return printJson(GetNodeResponse.toJSON(response));
  if (response.node === undefined) throw new CliError(`the server sent no node for ${id}`, EXIT.failure);
  printText(renderNodeDetail(response.node));
}
