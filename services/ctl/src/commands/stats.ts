// `stats`: the metrics of the nodes, once or (--watch) at every snapshot until Ctrl-C.
import { Option, type Command } from 'commander';
import { durationFromMs, WatchStatsResponse } from '@stompede/admin-api';
import { withApi, type CommandContext } from '../action.js';
import { CliError, EXIT } from '../exit.js';
import { onInterrupt } from '../interrupt.js';
import { parseNameList, parsePositiveDurationMs } from '../options.js';
import { printJsonLine, printText } from '../output.js';
import { columnsForNames, DEFAULT_COLUMNS, metricNames } from '../stats/columns.js';
import { renderStatsSnapshot } from '../stats/table.js';
import type { MessageStream } from '../stream.js';

interface StatsOptions {
  readonly node?: string;
  readonly watch?: boolean;
  /** Milliseconds. */
  readonly interval?: number;
  readonly names?: string[];
}

/** Moves the cursor home and clears the screen, so each snapshot replaces the last (like top). */
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export function registerStatsCommand(program: Command): void {
  program
    .command('stats')
    .description('show the metrics of every node (or one): connections, subscriptions, messages and their rates, errors, drain state')
    .option('--node <id>', 'only this node (default: every node)')
    .option('--watch', 'keep showing a snapshot every interval until Ctrl-C')
    .addOption(new Option('--interval <duration>', "time between snapshots (default: the server's, 5s)").argParser(parsePositiveDurationMs))
    .addOption(
      new Option('--names <a,b,...>', 'metric names to show, each summed over its labels (with --json: to include; default every metric)')
        .argParser(parseNameList),
    )
    .action((options: StatsOptions, command: Command) => withApi(command, (context) => stats(context, options)));
}

async function stats(context: CommandContext, options: StatsOptions): Promise<void> {
  const columns = options.names === undefined ? DEFAULT_COLUMNS : columnsForNames(options.names);
  const stream = context.api.watchStats({
    nodeId: options.node ?? '',
    interval: options.interval === undefined ? undefined : durationFromMs(options.interval),
    // JSON readers get every metric unless they asked for some.
    names: context.json && options.names === undefined ? [] : metricNames(columns),
  });
  const show = (snapshot: WatchStatsResponse, previous: WatchStatsResponse | undefined): void => {
    if (context.json) return printJsonLine(WatchStatsResponse.toJSON(snapshot));
    printText(`${separator(options.watch === true, previous)}${renderStatsSnapshot(columns, snapshot, previous)}`);
  };
  if (!options.watch) {
    const first = await stream.next();
    stream.cancel();
    if (first === undefined) throw new CliError('the server sent no stats', EXIT.failure);
    return show(first, undefined);
  }
  await watch(stream, show);
}

/** On a terminal each snapshot replaces the last; in a pipe or file a blank line separates them. */
function separator(watching: boolean, previous: WatchStatsResponse | undefined): string {
  if (watching && process.stdout.isTTY) return CLEAR_SCREEN;
  return previous === undefined ? '' : '\n';
}

async function watch(
  stream: MessageStream<WatchStatsResponse>,
  show: (snapshot: WatchStatsResponse, previous: WatchStatsResponse | undefined) => void,
): Promise<void> {
  let interrupted = false;
  const stopListening = onInterrupt(() => {
    interrupted = true;
    stream.cancel();
  });
  try {
    let previous: WatchStatsResponse | undefined;
    for (let snapshot = await stream.next(); snapshot !== undefined; snapshot = await stream.next()) {
      show(snapshot, previous);
      previous = snapshot;
    }
  } finally {
    stopListening();
  }
  if (!interrupted) throw new CliError('the server ended the stats stream', EXIT.failure);
}
