// Entry point of stompede-ctl: runs the command line and turns its outcome into an exit code.
import { CommanderError } from 'commander';
import { CliError, EXIT } from './exit.js';
import { buildProgram } from './program.js';

/** Help and --version end commander with these codes; they are not failures. */
const COMMANDER_SUCCESS = new Set(['commander.helpDisplayed', 'commander.version']);

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message (through configureOutput).
    return COMMANDER_SUCCESS.has(error.code) ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof CliError) {
    process.stderr.write(`stompede-ctl: ${error.message}\n`);
    return error.exitCode;
  }
  process.stderr.write(`stompede-ctl: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return EXIT.failure;
}

// grpc-js passes the target host as the TLS server name even when it is an IP address, and Node
// answers every such connection with a deprecation warning (DEP0123) meant for grpc-js's authors,
// not for someone running `stompede-ctl --tls --server 10.0.0.5:50051`.
process.noDeprecation = true;

let exitCode: number = EXIT.ok;
try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  exitCode = exitCodeFor(error);
}
// gRPC channels can hold the event loop open for a moment after close(); the work is done.
// (Writes to pipes and files are synchronous on Linux, so nothing printed is lost.)
process.exit(exitCode);
