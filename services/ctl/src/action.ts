// What every command action needs: a connected AdminApi for the global options, closed afterwards,
// and gRPC failures turned into messages and exit codes.
import type { Command } from 'commander';
import { AdminApi } from './client.js';
import { cliErrorFromStatus, isStatusError } from './exit.js';
import { connectionSettings, type GlobalOptions } from './settings.js';

export interface CommandContext {
  readonly api: AdminApi;
  /** --json: machine-readable output. */
  readonly json: boolean;
}

export async function withApi(command: Command, run: (context: CommandContext) => Promise<void>): Promise<void> {
  const settings = connectionSettings(command);
  const api = new AdminApi(settings);
  try {
    await run({ api, json: command.optsWithGlobals<GlobalOptions>().json === true });
  } catch (error) {
    throw isStatusError(error) ? cliErrorFromStatus(error, settings.address) : error;
  } finally {
    api.close();
  }
}
