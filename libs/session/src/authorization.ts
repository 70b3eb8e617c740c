// One session's authorization checks: the Access in force for its principal, and the SEND
// destinations already allowed, so that a publisher pays for the rules once per destination and
// not once per message. Created on a session's first SEND or SUBSCRIBE, when the hub has an
// Authorizer.
import type { Access, Authorizer, Operation } from './access.js';
import { nameAsWritten, type Destination } from './destinations.js';
import type { Metrics } from './metrics.js';
import { ANONYMOUS, type Principal } from './principal.js';
import { Refusal } from './refusal.js';

/**
 * Allowed SEND destinations remembered per session. A publisher cycling through more is checked
 * again (a walk of its rules), never refused for it; the bound keeps a session's memory small.
 */
export const MAX_ALLOWED_SENDS = 64;

/** The ERROR message of every refusal by the ACL. */
export const ACCESS_REFUSED = 'access refused';

/** The session side of its authorization: who it acts for, and where. */
export interface AuthorizedSession {
  /** Undefined before CONNECT was accepted: checked as ANONYMOUS. */
  readonly principal: Principal | undefined;
  readonly vhost: string;
}

export class SessionAuthorization {
  private access: Access | undefined;
  /** The principal and rules generation `access` was obtained for. */
  private principal: Principal | undefined;
  private generation = 0;
  /** SEND destinations found allowed under `access`, oldest first. */
  private sends: Set<string> | undefined;

  constructor(
    private readonly owner: AuthorizedSession,
    private readonly authorizer: Authorizer,
    private readonly metrics: Metrics,
  ) {}

  /** Refuses a SEND to `destination` that the session's principal may not publish to. */
  checkSend(destination: Destination): void {
    const principal = this.owner.principal ?? ANONYMOUS;
    const access = this.current(principal);
    if (access.unrestricted) return;
    // ACL rules are about the name the client wrote: a user destination's, not its stream's.
    const name = nameAsWritten(destination);
    const sends = (this.sends ??= new Set());
    if (sends.has(name)) return;
    if (!access.mayPublish(name)) throw this.refuse('send', principal, name);
    if (sends.size >= MAX_ALLOWED_SENDS) sends.delete(sends.values().next().value!);
    sends.add(name);
  }

  /**
   * Refuses a SUBSCRIBE the session's principal may not make. Returns the Access a wildcard topic
   * subscription is limited by (the router checks it per destination bound), or undefined when
   * nothing is left to check after this.
   */
  checkSubscribe(destination: Destination): Access | undefined {
    const principal = this.owner.principal ?? ANONYMOUS;
    const access = this.current(principal);
    if (access.unrestricted) return undefined;
    // ACL rules are about the name the client wrote: a user destination's, not its stream's.
    const name = nameAsWritten(destination);
    if (destination.kind !== 'topic') {
      if (!access.mayConsume(name)) throw this.refuse('consume', principal, name);
      return undefined;
    }
    if (!destination.wildcard) {
      if (!access.maySubscribe(name)) throw this.refuse('subscribe', principal, name);
      return undefined;
    }
    if (!access.maySubscribeUnder(name.slice(0, destination.prefixLength))) throw this.refuse('subscribe', principal, name, true);
    return access;
  }

  private current(principal: Principal): Access {
    const generation = this.authorizer.generation;
    if (this.access === undefined || principal !== this.principal || generation !== this.generation) {
      this.access = this.authorizer.access(principal, this.owner.vhost);
      this.principal = principal;
      this.generation = generation;
      this.sends = undefined;
    }
    return this.access;
  }

  private refuse(operation: Operation, principal: Principal, destination: string, wildcard = false): Refusal {
    this.metrics.countDenied(operation);
    const who = principal.method === 'anonymous' ? 'an anonymous session' : `user ${JSON.stringify(principal.name)}`;
    const what = operation === 'send' ? `send to ${destination}` : operation === 'consume' ? `consume from the queue ${destination}` : `subscribe to ${destination}`;
    const why = wildcard ? ' (a wildcard subscription needs the right to subscribe to some destination under its prefix)' : '';
    return new Refusal(ACCESS_REFUSED, `Operation ${operation}: ${who} may not ${what}${why}. The broker's ACL (STOMPEDE_ACL_FILE) and the permissions carried by the credentials decide.`, [['x-denied-operation', operation]]);
  }
}
