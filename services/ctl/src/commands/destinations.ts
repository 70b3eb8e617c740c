// `destinations` (paged, filtered) and `destination <name>`.
import { Option, type Command } from 'commander';
import { GetDestinationResponse, ListDestinationsResponse, type Destination } from '@stompede/admin-api';
import { withApi, type CommandContext } from '../action.js';
import { CliError, EXIT } from '../exit.js';
import { parsePositiveInteger } from '../options.js';
import { note, printJson, printText, warnUnreachable } from '../output.js';
import { collectPages, type Page } from '../paging.js';
import { renderDestinationDetail, renderDestinationTable } from '../views/destinations.js';

interface DestinationsOptions {
  readonly vhost?: string;
  readonly prefix?: string;
  readonly node?: string;
  readonly limit: number;
}

interface DestinationOptions {
  readonly vhost?: string;
  readonly node?: string;
}

export function registerDestinationCommands(program: Command): void {
  program
    .command('destinations')
    .description('list destinations and subscription patterns, in (vhost, name) order')
    .option('--vhost <vhost>', 'only this vhost (default: every vhost)')
    .option('--prefix <prefix>', 'only names starting with this, e.g. /queue/')
    .option('--node <id>', "only this node's destinations, with its own counts (default: the cluster)")
    .addOption(new Option('--limit <n>', 'at most this many rows').argParser(parsePositiveInteger).default(100))
    .action((options: DestinationsOptions, command: Command) => withApi(command, (context) => listDestinations(context, options)));
  program
    .command('destination')
    .description('show one destination or pattern, with its subscribers per node')
    .argument('<name>', 'a destination (/topic/a.b, /queue/jobs) or pattern (/topic/a.*)')
    .option('--vhost <vhost>', 'the vhost (default: the first configured one)')
    .option('--node <id>', "only this node's subscribers and publish rate (default: the cluster)")
    .action((name: string, options: DestinationOptions, command: Command) =>
      withApi(command, (context) => showDestination(context, name, options)));
}

async function listDestinations({ api, json }: CommandContext, options: DestinationsOptions): Promise<void> {
  const filter = { vhost: options.vhost ?? '', prefix: options.prefix ?? '', nodeId: options.node ?? '' };
  const collected = await collectPages(async (pageToken, pageSize): Promise<Page<Destination>> => {
    const page = await api.listDestinations({ ...filter, pageToken, pageSize });
    return { rows: page.destinations, nextPageToken: page.nextPageToken, unreachableNodes: page.unreachableNodes };
  }, options.limit);
  if (json) {
    const { rows, nextPageToken, unreachableNodes } = collected;
    return printJson(ListDestinationsResponse.toJSON({ destinations: [...rows], nextPageToken, unreachableNodes: [...unreachableNodes] }));
  }
  warnUnreachable(collected.unreachableNodes);
  printText(renderDestinationTable(collected.rows));
  if (collected.nextPageToken !== '') note(`showing the first ${collected.rows.length} destinations; --limit shows more`);
}

async function showDestination({ api, json }: CommandContext, name: string, options: DestinationOptions): Promise<void> {
  const response = await api.getDestination({ name, vhost: options.vhost ?? '', nodeId: options.node ?? '' });
  if (json) return printJson(GetDestinationResponse.toJSON(response));
  if (response.destination === undefined) throw new CliError(`the server sent no destination for ${name}`, EXIT.failure);
  warnUnreachable(response.unreachableNodes);
  printText(renderDestinationDetail(response.destination));
}
