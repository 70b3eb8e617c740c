// `drain <node>` and `undrain <node>`.
import { Option, type Command } from 'commander';
import { DrainResponse, durationFromMs, UndrainResponse } from '@stompede/admin-api';
import { withApi, type CommandContext } from '../action.js';
import { followDrain, type DrainOutcome } from '../drain/follow.js';
import { drainReporter } from '../drain/progress.js';
import { CliError, EXIT } from '../exit.js';
import { onInterrupt } from '../interrupt.js';
import { parseDurationMs } from '../options.js';
import { printJson, printJsonLine, printText } from '../output.js';
import type { MessageStream } from '../stream.js';
import { drainLine } from '../views/drain.js';
import { nodeStateLabel } from '../views/nodes.js';

interface DrainOptions {
  /** Milliseconds. */
  readonly grace?: number;
  /** Milliseconds. */
  readonly window?: number;
  readonly wait?: boolean;
}

export function registerDrainCommands(program: Command): void {
  program
    .command('drain')
    .description('drain a node: readiness off, new connections refused after the grace, clients closed over the window')
    .argument('<node>', 'the node (its STOMPEDE_NODE_ID)')
    .addOption(
      new Option('--grace <duration>', "time before new connections are refused (default: the node's STOMPEDE_DRAIN_GRACE_MS)")
        .argParser(parseDurationMs),
    )
    .addOption(
      new Option('--window <duration>', "time over which clients are closed (default: the node's STOMPEDE_DRAIN_WINDOW_MS)")
        .argParser(parseDurationMs),
    )
    .option('--wait', 'follow the drain until the node has drained (exit 0) or it is cancelled (exit 1)')
    .action((nodeId: string, options: DrainOptions, command: Command) => withApi(command, (context) => drain(context, nodeId, options)));
  program
    .command('undrain')
    .description('stop a drain and let the node serve again')
    .argument('<node>', 'the node (its STOMPEDE_NODE_ID)')
    .action((nodeId: string, _options: object, command: Command) => withApi(command, (context) => undrain(context, nodeId)));
}

async function drain(context: CommandContext, nodeId: string, options: DrainOptions): Promise<void> {
  const stream = context.api.drain({
    nodeId,
    grace: options.grace === undefined ? undefined : durationFromMs(options.grace),
    window: options.window === undefined ? undefined : durationFromMs(options.window),
  });
  if (!options.wait) return showFirstStatus(context, stream, nodeId);
  const interruption = new AbortController();
  const stopListening = onInterrupt(() => {
    interruption.abort();
    stream.cancel();
  });
  const reporter = drainReporter(context.json);
  let outcome: DrainOutcome;
  try {
    outcome = await followDrain(context.api, stream, nodeId, reporter, interruption.signal);
  } finally {
    stopListening();
    reporter.stop();
  }
  reportOutcome(outcome, nodeId, interruption.signal.aborted);
}

async function showFirstStatus({ json }: CommandContext, stream: MessageStream<DrainResponse>, nodeId: string): Promise<void> {
  const first = await stream.next();
  // Cancelling only stops our reading: the drain goes on on the server.
  stream.cancel();
  if (first?.status === undefined) throw new CliError(`the server sent no drain status for ${nodeId}`, EXIT.failure);
  if (json) printJsonLine(DrainResponse.toJSON(first));
  else printText(drainLine(first.nodeId, first.status));
}

function reportOutcome(outcome: DrainOutcome, nodeId: string, interrupted: boolean): void {
  if (outcome === 'drained') return;
  if (outcome === 'cancelled') throw new CliError('drain cancelled', EXIT.failure);
  if (interrupted) {
    throw new CliError(`stopped following; the drain of ${nodeId} goes on (stompede-ctl undrain ${nodeId} stops it)`, EXIT.interrupted);
  }
  throw new CliError(`the drain stream of ${nodeId} ended before the node drained`, EXIT.failure);
}

async function undrain({ api, json }: CommandContext, nodeId: string): Promise<void> {
  const response = await api.undrain(nodeId);
  if (json) printJson(UndrainResponse.toJSON(response));
  else printText(`${response.nodeId}: ${nodeStateLabel(response.state)}`);
}
