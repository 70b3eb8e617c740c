#!/usr/bin/env node
// Entry point: parse settings, start a node, shut down cleanly on SIGTERM/SIGINT.
import { ConfigError, helpText, parseConfig } from './config.js';
import { createLogger } from './logger.js';
import { BrokerNode } from './node.js';
import { UwsFallbackError } from './uws.js';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`stompede: ${err.message}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(helpText());
    return 0;
  }
  const logger = createLogger(parsed.config);
  let node: BrokerNode;
  try {
    node = new BrokerNode(parsed.config, logger);
    await node.start();
  } catch (err) {
    const message = err instanceof UwsFallbackError ? err.message : (err as Error).stack ?? String(err);
    logger.fatal({ err: message }, 'cannot start');
    return 1;
  }
  process.on('uncaughtException', (err) => logger.error({ err }, 'uncaught exception'));
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return -1;
}

// A node that could not start may still hold sockets (a half-open Redis connection that keeps
// retrying): exit rather than linger as a process that serves nothing.
main().then(
  (code) => {
    if (code === 0) process.exitCode = 0;
    else if (code > 0) setImmediate(() => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`stompede: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
