// The three methods. `users` applies when a CONNECT has a login (and its passcode is not a JWT);
// `jwt` when it carries a token (tokenOf); `anonymous` always, which is why it must come last.
import { ANONYMOUS, type Principal } from '@stompede/session';
import type { Headers } from '@stompede/stomp';
import { looksLikeJwt, tokenOf, type JwtVerifier } from './jwt.js';
import type { AuthMethod, MethodResult } from './method.js';
import { verifyPassword } from './password.js';
import type { UsersStore } from './users-store.js';

export const anonymousMethod: AuthMethod = {
  name: 'anonymous',
  check: () => ANONYMOUS,
};

/**
 * Password checks (scrypt on libuv's small thread pool) in progress are bounded by
 * `maxPendingChecks`: past it a login is turned away at once (busy), before its login is looked up,
 * so that a flood from many addresses cannot queue unbounded work, and the answer says nothing
 * about which logins exist.
 */
export function usersMethod(store: UsersStore, maxPendingChecks: number): AuthMethod {
  let pending = 0;
  const settled = (): void => {
    pending--;
  };
  return {
    name: 'users',
    check(h: Headers): MethodResult | Promise<MethodResult> | undefined {
      const login = h.get('login');
      const passcode = h.get('passcode');
      if (login === undefined || (passcode !== undefined && looksLikeJwt(passcode))) return undefined;
      if (pending >= maxPendingChecks) return { denied: 'too many password checks in progress', busy: true };
      const user = store.get(login);
      if (user === undefined) return { denied: 'unknown login' };
      if (passcode === undefined) return { denied: 'no passcode' };
      const principal: Principal = { name: login, method: 'users', expiresAtMs: undefined, groups: user.groups, permissions: undefined };
      pending++;
      const checked = verifyPassword(passcode, user.password).then(
        (ok) => (ok ? principal : { denied: 'wrong password' }),
        (err: unknown) => ({ denied: `password check failed: ${String(err)}` }),
      );
      void checked.finally(settled);
      return checked;
    },
  };
}

export function jwtMethod(verifier: JwtVerifier): AuthMethod {
  return {
    name: 'jwt',
    check(h: Headers): Promise<MethodResult> | undefined {
      const token = tokenOf(h);
      return token === undefined ? undefined : verifier.verify(token);
    },
  };
}
