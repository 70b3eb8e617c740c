// Authorization as the session layer sees it. The service's rule engine (an Authorizer) says what
// a principal may do in a vhost, as an Access: the session asks it once per SUBSCRIBE and once per
// new destination a publisher uses, never per message. A wildcard subscription carries its Access
// into the router, which checks it once per concrete destination the pattern is bound to
// (topic-index.ts). No rule engine lives here: only this contract and its use.
import type { Principal } from './principal.js';

/** What a rule allows: publishing (SEND), subscribing to a topic, consuming from a queue. */
export type Operation = 'send' | 'subscribe' | 'consume';

export const OPERATIONS: readonly Operation[] = ['send', 'subscribe', 'consume'];

/** What one principal may do in one vhost. Destinations are full names, prefix included. */
export interface Access {
  /** Nothing is restricted: checks are skipped and wildcard subscriptions are not scoped. */
  readonly unrestricted: boolean;
  mayPublish(destination: string): boolean;
  maySubscribe(destination: string): boolean;
  mayConsume(destination: string): boolean;
  /**
   * Whether any destination under `prefix` (e.g. "/topic/") may be subscribed to. A wildcard
   * SUBSCRIBE is refused when none may; otherwise it is accepted and each destination it matches is
   * checked with maySubscribe.
   */
  maySubscribeUnder(prefix: string): boolean;
}

export interface Authorizer {
  /** Changes whenever the rules do (a reload): an Access obtained under an older generation is stale. */
  readonly generation: number;
  /**
   * What `principal` may do in `vhost`. Principals with the same rights should get the same object:
   * wildcard subscriptions are grouped by it, and so share their fan-out groups.
   */
  access(principal: Principal, vhost: string): Access;
}


const yes = (): boolean => true;

/** Everything allowed: what every principal gets when no rule applies (no ACL file, no token permissions). */
export const UNRESTRICTED: Access = Object.freeze({
  unrestricted: true,
  mayPublish: yes,
  maySubscribe: yes,
  mayConsume: yes,
  maySubscribeUnder: yes,
});
