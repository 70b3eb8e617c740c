// Builds a node's authentication from its configuration: reads the users file and the JWT public
// key now (a problem stops the start with a message naming the setting), starts watching the users
// file, and says how open the broker is, for the start-up log.
import type { Logger } from '@stompede/session';
import { ChainAuthenticator } from './authenticator.js';
import { authConfigProblems, type AuthConfig } from './config.js';
import { JwtVerifier, loadJwtKeys } from './jwt.js';
import { AuthSetupError, type AuthMethod } from './method.js';
import { anonymousMethod, jwtMethod, usersMethod } from './methods.js';
import { AuthMetrics } from './metrics.js';
import { FailedLogins } from './throttle.js';
import { UsersFileError } from './users-file.js';
import { UsersStore } from './users-store.js';

export interface Auth {
  readonly authenticator: ChainAuthenticator;
  readonly metrics: AuthMetrics;
  readonly users: UsersStore | undefined;
  stop(): void;
}

export function createAuth(c: AuthConfig, logger: Logger, now: () => number = Date.now): Auth {
  const problems = authConfigProblems(c);
  if (problems.length > 0) throw new AuthSetupError(problems.join('\n  '));
  let users: UsersStore | undefined;
  let jwt: JwtVerifier | undefined;
  const methods: AuthMethod[] = c.auth.map((name) => {
    switch (name) {
      case 'anonymous':
        return anonymousMethod;
      case 'users':
        users = openUsers(c, logger);
        return usersMethod(users, c.authMaxPendingChecks);
      case 'jwt':
        jwt = new JwtVerifier(loadJwtKeys(c), c, now);
        return jwtMethod(jwt);
    }
  });
  const metrics = new AuthMetrics(c.auth);
  const failedLogins = new FailedLogins(c.authMaxFailuresPerIp, c.authFailureWindowMs);
  const authenticator = new ChainAuthenticator({
    methods,
    jwt,
    failureDelayMs: c.authFailureDelayMs,
    failedLogins,
    maxPendingChecks: c.authMaxPendingChecks,
    metrics,
    logger,
    now,
  });
  users?.watch(c.usersReloadMs);
  return { authenticator, metrics, users, stop: () => users?.stop() };
}

function openUsers(c: AuthConfig, logger: Logger): UsersStore {
  try {
    return new UsersStore(c.usersFile, logger);
  } catch (err) {
    if (err instanceof UsersFileError) throw new AuthSetupError(`STOMPEDE_USERS_FILE: ${err.message}`);
    throw err;
  }
}

/** A warning for the start-up log when clients without credentials get in; undefined when none do. */
export function openAccessWarning(c: AuthConfig): string | undefined {
  if (!c.auth.includes('anonymous')) return undefined;
  if (c.auth.length === 1) {
    return 'STOMP authentication is OFF (STOMPEDE_AUTH=anonymous): this broker accepts ANY client, with any or no credentials, and lets it send and subscribe. Set STOMPEDE_AUTH=users and/or jwt before exposing it (docs/security.md).';
  }
  return `STOMPEDE_AUTH=${c.auth.join(',')}: clients whose credentials no other method checks are accepted as anonymous.`;
}
