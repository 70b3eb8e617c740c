#!/usr/bin/env node
// Entry point: parse settings, start a node, drain and exit on SIGTERM/SIGINT.
import { AuthSetupError, createAuth, openAccessWarning, type Auth } from '@stompede/auth';
import { readAdminSecrets } from './admin-secrets.js';
import { ConfigError, helpText, parseConfig } from './config.js';
import { createLogger } from './logger.js';
import { BrokerNode } from './node.js';
import { shutdownOnSignals } from './shutdown.js';
import { UwsFallbackError } from './uws.js';

async function main(): Promise<number> {
  let parsed;
  let secrets;
  try {
    parsed = parseConfig(process.argv.slice(2), process.env);
    if (parsed.help) {
      process.stdout.write(helpText());
      return 0;
    }
    secrets = readAdminSecrets(parsed.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`stompede: ${err.message}\n`);
    return 2;
  }
  const logger = createLogger(parsed.config);
  let auth: Auth;
  try {
    auth = createAuth(parsed.config, logger);
  } catch (err) {
    if (!(err instanceof AuthSetupError)) throw err;
    process.stderr.write(`stompede: invalid authentication setup:\n  ${err.message}\n`);
    return 2;
  }
  const openAccess = openAccessWarning(parsed.config);
  if (openAccess !== undefined) logger.warn({ auth: parsed.config.auth.join(',') }, openAccess);
  let node: BrokerNode;
  try {
    node = new BrokerNode(parsed.config, logger, secrets, auth);
    await node.start();
  } catch (err) {
    const message = err instanceof UwsFallbackError ? err.message : (err as Error).stack ?? String(err);
    logger.fatal({ err: message }, 'cannot start');
    return 1;
  }
  process.on('uncaughtException', (err) => logger.error({ err }, 'uncaught exception'));
  if (parsed.config.adminPort !== 0 && parsed.config.adminAuth === 'none') {
    logger.warn({ admin: `${parsed.config.adminBind}:${parsed.config.adminPort}` }, 'admin API authentication is OFF (STOMPEDE_ADMIN_AUTH=none): anyone who reaches the admin port can drain this node and close connections');
  }
  shutdownOnSignals(node, logger);
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
