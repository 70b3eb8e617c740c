// The stompede-ctl command line: global options and the commands. Commander's own errors (unknown
// command or option, missing argument, bad value) come out as exceptions so main can exit 2.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { registerConnectionCommands } from './commands/connections.js';
import { registerDestinationCommands } from './commands/destinations.js';
import { registerDrainCommands } from './commands/drain.js';
import { registerNodeCommands } from './commands/nodes.js';
import { registerPasswdCommand } from './commands/passwd.js';
import { registerStatsCommand } from './commands/stats.js';
import { parsePositiveDurationMs } from './options.js';
import { DEFAULT_SERVER, DEFAULT_TIMEOUT_MS } from './settings.js';

const EXIT_CODES_HELP = `
Exit codes: 0 ok, 1 failed (not found, refused by the node, drain cancelled, ...), 2 usage,
3 unreachable (no answer within --timeout), 4 refused by auth (bad or missing token).`;

export function buildProgram(): Command {
  const program = new Command('stompede-ctl')
    .description('Inspect and operate the nodes of a Stompede cluster through their admin API.')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ outputError: (message, write) => write(`stompede-ctl: ${message.replace(/^error: /, '')}`) })
    .showHelpAfterError('(stompede-ctl --help shows the usage)')
    .addHelpText('after', EXIT_CODES_HELP);
  addGlobalOptions(program);
  registerNodeCommands(program);
  registerConnectionCommands(program);
  registerDestinationCommands(program);
  registerDrainCommands(program);
  registerStatsCommand(program);
  registerPasswdCommand(program);
  return program;
}

function addGlobalOptions(program: Command): void {
  program
    .addOption(new Option('--server <host:port>', 'admin address of any node').env('STOMPEDE_ADMIN_ADDR').default(DEFAULT_SERVER))
    .addOption(new Option('--token <token>', 'admin token, sent as authorization: Bearer <token>').env('STOMPEDE_ADMIN_TOKEN'))
    .addOption(new Option('--token-file <path>', 'read the admin token from this file').env('STOMPEDE_ADMIN_TOKEN_FILE'))
    .option('--tls', 'use TLS, trusting the system roots')
    .option('--ca <file>', 'use TLS, trusting the CA certificates in this PEM file')
    .option('--cert <file>', 'use TLS with this client certificate (PEM; mTLS, needs --key)')
    .option('--key <file>', 'private key of --cert (PEM)')
    .addOption(
      new Option('--timeout <duration>', 'deadline of each call (500ms, 10s, 2m, 1h or milliseconds)')
        .argParser(parsePositiveDurationMs)
        .default(DEFAULT_TIMEOUT_MS, '10s'),
    )
    .option('--json', 'print JSON (proto3 JSON field names) instead of tables');
}

function packageVersion(): string {
  const manifest = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(manifest) as { version: string }).version;
}
