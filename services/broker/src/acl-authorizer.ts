// The rule engine behind the session layer's Authorizer: what a principal may do is the union of
// the ACL file's rules that apply to it (no rule: nothing), ANDed with the permissions its
// credentials carry (a JWT's claims), if any. Without a file, those permissions alone decide, and
// a principal without them may do everything (the broker's open default). Each principal's rights
// are compiled once into an Access, shared by every principal with the same rights.
import { UNRESTRICTED, type Access, type Authorizer, type Operation, type Permissions, type Principal } from '@stompede/session';
import { PatternSet } from './acl-patterns.js';
import { USER_PLACEHOLDER, type AclRule, type Selector } from './acl-rules.js';

/** Compiled Access objects kept for reuse; past it the cache starts over (sessions keep theirs). */
const MAX_CACHED_ACCESS = 10_000;

type Grants = Readonly<Record<Operation, PatternSet>>;

export class RuleAuthorizer implements Authorizer {
  generation = 0;
  private cache = new Map<string, Access>();

  constructor(
    /** knownPrefixes() of the node. */
    private readonly prefixes: readonly string[],
    /** The ACL file's rules; undefined when there is no file. */
    private rules: readonly AclRule[] | undefined,
  ) {}

  /** New rules (a reload): Access objects handed out before are stale from now on. */
  replace(rules: readonly AclRule[]): void {
    this.rules = rules;
    this.cache = new Map();
    this.generation++;
  }

  access(principal: Principal, vhost: string): Access {
    const permissions = principal.permissions;
    const rules = this.rules?.filter((r) => applies(r, principal, vhost));
    if (rules === undefined && permissions === undefined) return UNRESTRICTED;
    const key = cacheKey(principal, vhost, rules, permissions);
    let access = this.cache.get(key);
    if (access === undefined) {
      const file = rules === undefined ? undefined : this.grants(principal, rules);
      const token = permissions === undefined ? undefined : this.grants(principal, [permissions]);
      access = new RuleAccess(file, token);
      if (this.cache.size >= MAX_CACHED_ACCESS) this.cache.clear();
      this.cache.set(key, access);
    }
    return access;
  }

  private grants(principal: Principal, sources: readonly Permissions[]): Grants {
    const grants = { send: new PatternSet(this.prefixes), subscribe: new PatternSet(this.prefixes), consume: new PatternSet(this.prefixes) };
    for (const source of sources) {
      for (const op of ['send', 'subscribe', 'consume'] as const) {
        for (const pattern of source[op]) {
          const p = forPrincipal(pattern, principal);
          // A token's pattern with an unknown prefix grants nothing (the file's were checked at load).
          if (p !== undefined) grants[op].add(p);
        }
      }
    }
    return grants;
  }
}

class RuleAccess implements Access {
  readonly unrestricted = false;

  constructor(
    /** What the file's rules grant; undefined = no file (no limit from it). */
    private readonly file: Grants | undefined,
    /** What the credentials grant; undefined = they carry no permissions (no limit from them). */
    private readonly token: Grants | undefined,
  ) {}

  mayPublish(destination: string): boolean {
    return this.allows('send', destination);
  }

  maySubscribe(destination: string): boolean {
    return this.allows('subscribe', destination);
  }

  mayConsume(destination: string): boolean {
    return this.allows('consume', destination);
  }

  maySubscribeUnder(prefix: string): boolean {
    return (this.file?.subscribe.hasPrefix(prefix) ?? true) && (this.token?.subscribe.hasPrefix(prefix) ?? true);
  }

  private allows(op: Operation, destination: string): boolean {
    return (this.file?.[op].matches(destination) ?? true) && (this.token?.[op].matches(destination) ?? true);
  }
}

function applies(rule: AclRule, principal: Principal, vhost: string): boolean {
  if (rule.vhosts !== undefined && !rule.vhosts.includes(vhost)) return false;
  return rule.who.some((s) => selects(s, principal));
}

function selects(s: Selector, principal: Principal): boolean {
  const anonymous = principal.method === 'anonymous';
  switch (s.kind) {
    case 'everyone':
      return true;
    case 'anonymous':
      return anonymous;
    case 'authenticated':
      return !anonymous;
    case 'user':
      return !anonymous && principal.name === s.name;
    case 'group':
      return !anonymous && principal.groups.includes(s.name);
  }
}

/**
 * `pattern` with {user} replaced by the principal's name, or undefined when the pattern cannot
 * apply: an anonymous session's name proves nothing, and a name that is not exactly one segment
 * (it contains `.`, or is `*` or `#`) would reach into other users' destinations
 * (`user.{user}.#` for "a" would match "a.b"'s).
 */
export function forPrincipal(pattern: string, principal: Principal): string | undefined {
  if (!pattern.includes(USER_PLACEHOLDER)) return pattern;
  const name = principal.name;
  if (principal.method === 'anonymous' || name.length === 0 || name.includes('.') || name === '*' || name === '#') return undefined;
  return pattern.replaceAll(USER_PLACEHOLDER, name);
}

/** Principals whose keys are equal have the same rights: the same rules, name where it matters, permissions. */
function cacheKey(principal: Principal, vhost: string, rules: readonly AclRule[] | undefined, permissions: Permissions | undefined): string {
  const perUser = (rules?.some((r) => r.perUser) ?? false) || permissions !== undefined;
  return JSON.stringify([
    vhost,
    rules?.map((r) => r.index) ?? null,
    perUser && principal.method !== 'anonymous' ? principal.name : null,
    permissions === undefined ? null : [permissions.send, permissions.subscribe, permissions.consume],
  ]);
}
