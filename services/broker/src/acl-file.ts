// The node's authorization: the rule engine, loaded from STOMPEDE_ACL_FILE at start (a broken file
// stops the start) and reloaded when the file changes. A reload that fails keeps the last good rules
// and logs why. What a reload affects: docs/security.md#authorization.
import { readFileSync, stat, statSync, type Stats } from 'node:fs';
import type { Logger } from '@stompede/session';
import { RuleAuthorizer } from './acl-authorizer.js';
import { knownPrefixes } from './acl-patterns.js';
import { AclError, parseAcl, type AclContext, type AclRule } from './acl-rules.js';
import type { BrokerConfig } from './settings.js';

/**
 * How often the file's metadata is polled. Polling (stat) follows renames and symlink swaps (a
 * mounted ConfigMap), which file-change events miss.
 */
export const ACL_POLL_MS = 1_000;

export interface Authorization {
  readonly authorizer: RuleAuthorizer;
  /** Stops watching the file. */
  stop(): void;
}

/** The authorization of a node: the ACL file's rules, or none (everything allowed unless credentials carry permissions). */
export function createAuthorization(config: Pick<BrokerConfig, 'aclFile' | 'destinationPrefixes' | 'vhosts'>, logger: Logger): Authorization {
  const context: AclContext = { prefixes: knownPrefixes(config.destinationPrefixes), vhosts: config.vhosts };
  const file = config.aclFile;
  if (file === '') return { authorizer: new RuleAuthorizer(context.prefixes, undefined), stop() {} };
  // Stat before reading: a change made while it is read shows at the next poll.
  let seen = version(statOrThrow(file));
  const authorizer = new RuleAuthorizer(context.prefixes, readAcl(file, context));
  logger.info({ aclFile: file }, 'ACL loaded');
  let lastProblem = '';
  const poll = (): void =>
    stat(file, (err, st) => {
      const now = err === null ? version(st) : `missing: ${err.code ?? err.message}`;
      if (now === seen) return;
      seen = now;
      try {
        if (err !== null) throw new AclError(`STOMPEDE_ACL_FILE ${file}: cannot read it: ${err.message}`);
        authorizer.replace(readAcl(file, context));
        lastProblem = '';
        logger.info({ aclFile: file, generation: authorizer.generation }, 'ACL reloaded');
      } catch (e) {
        const problem = (e as Error).message;
        if (problem !== lastProblem) logger.warn({ aclFile: file, err: problem }, 'ACL file not reloaded: keeping the last good rules');
        lastProblem = problem;
      }
    });
  const timer = setInterval(poll, ACL_POLL_MS);
  timer.unref();
  return { authorizer, stop: () => clearInterval(timer) };
}

/** Reads and parses the file; AclError names the file and the problem. */
export function readAcl(file: string, context: AclContext): AclRule[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AclError(`STOMPEDE_ACL_FILE ${file}: cannot read it: ${(err as Error).message}`);
  }
  try {
    return parseAcl(text, context);
  } catch (err) {
    if (err instanceof AclError) throw new AclError(`STOMPEDE_ACL_FILE ${file}: ${err.message}`);
    throw err;
  }
}

function statOrThrow(file: string): Stats {
  try {
    return statSync(file);
  } catch (err) {
    throw new AclError(`STOMPEDE_ACL_FILE ${file}: cannot read it: ${(err as Error).message}`);
  }
}

/** What identifies one version of the file: a rename gives a new inode, a write a new mtime or size. */
function version(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}
