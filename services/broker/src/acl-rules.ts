// The ACL file (STOMPEDE_ACL_FILE): YAML, a list of rules, each saying whom it applies to and which
// destination patterns they may send to, subscribe to (topics) and consume from (queues). Parsed
// and validated here, whole, before anything uses it: a file with one mistake is refused, never
// applied in part. Syntax and semantics: docs/security.md#authorization.
import type { Operation } from '@stompede/session';
import { OPERATIONS, TEMP_QUEUE_PREFIX } from '@stompede/session';
import { parse, YAMLError } from 'yaml';
import { prefixOf } from './acl-patterns.js';

/** Whom a rule applies to. `user:` and `group:` never match an anonymous session. */
export type Selector =
  | { readonly kind: 'everyone' | 'anonymous' | 'authenticated' }
  | { readonly kind: 'user' | 'group'; readonly name: string };

export interface AclRule {
  /** 1-based position in the file. */
  readonly index: number;
  readonly who: readonly Selector[];
  /** Virtual hosts it applies in; undefined = all. */
  readonly vhosts: readonly string[] | undefined;
  readonly send: readonly string[];
  readonly subscribe: readonly string[];
  readonly consume: readonly string[];
  /** Some pattern contains {user}: the principal's name changes what the rule grants. */
  readonly perUser: boolean;
}

export class AclError extends Error {}

/** The placeholder replaced by the principal's name. */
export const USER_PLACEHOLDER = '{user}';

const RULE_KEYS = new Set(['who', 'vhosts', ...OPERATIONS]);

/** What the file is checked against: the destination prefixes and vhosts of the node. */
export interface AclContext {
  /** knownPrefixes(): patterns must start with one of them. */
  readonly prefixes: readonly string[];
  readonly vhosts: readonly string[];
}

/** Parses and validates an ACL file's text; throws AclError saying where the first problem is. */
export function parseAcl(text: string, context: AclContext): AclRule[] {
  let doc: unknown;
  try {
    doc = parse(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    if (err instanceof YAMLError) throw new AclError(`not valid YAML: ${err.message}`);
    throw err;
  }
  if (!isMap(doc)) throw new AclError('the file must be a YAML mapping with a "rules" list');
  for (const key of Object.keys(doc)) if (key !== 'rules') throw new AclError(`unknown top-level key "${key}" (only "rules")`);
  const rules = doc['rules'];
  if (!Array.isArray(rules)) throw new AclError('"rules" must be a list of rules');
  return rules.map((raw, i) => parseRule(raw, i + 1, context));
}

function parseRule(raw: unknown, index: number, context: AclContext): AclRule {
  const at = `rules[${index - 1}]`;
  if (!isMap(raw)) throw new AclError(`${at}: a rule is a mapping with "who" and some of ${OPERATIONS.join(', ')}`);
  for (const key of Object.keys(raw)) {
    if (!RULE_KEYS.has(key)) throw new AclError(`${at}: unknown key "${key}" (known: ${[...RULE_KEYS].join(', ')})`);
  }
  if (raw['who'] === undefined) throw new AclError(`${at}: "who" is missing (everyone, anonymous, authenticated, user:<name>, group:<name>)`);
  const who = strings(raw['who'], `${at}.who`).map((s, k) => selector(s, `${at}.who[${k}]`));
  if (who.length === 0) throw new AclError(`${at}.who: names nobody`);
  const vhosts = raw['vhosts'] === undefined ? undefined : strings(raw['vhosts'], `${at}.vhosts`);
  for (const v of vhosts ?? []) {
    if (!context.vhosts.includes(v)) throw new AclError(`${at}.vhosts: "${v}" is not a virtual host of this node (STOMPEDE_VHOSTS: ${context.vhosts.join(', ')})`);
  }
  const patterns = {} as Record<Operation, string[]>;
  for (const op of OPERATIONS) {
    patterns[op] = raw[op] === undefined ? [] : strings(raw[op], `${at}.${op}`);
    patterns[op].forEach((p, k) => checkPattern(p, `${at}.${op}[${k}]`, context.prefixes));
  }
  const perUser = OPERATIONS.some((op) => patterns[op].some((p) => p.includes(USER_PLACEHOLDER)));
  return { index, who, vhosts, ...patterns, perUser };
}

function selector(text: string, at: string): Selector {
  if (text === 'everyone' || text === 'anonymous' || text === 'authenticated') return { kind: text };
  const m = /^(user|group):(.+)$/.exec(text);
  if (m === null) throw new AclError(`${at}: "${text}" is not everyone, anonymous, authenticated, user:<name> or group:<name>`);
  return { kind: m[1] as 'user' | 'group', name: m[2]! };
}

function checkPattern(pattern: string, at: string, prefixes: readonly string[]): void {
  if (pattern.startsWith(TEMP_QUEUE_PREFIX)) {
    throw new AclError(`${at}: ${TEMP_QUEUE_PREFIX} names are not destinations (reply-to creates a private /reply-queue/ queue, which rules may name)`);
  }
  const prefix = prefixOf(pattern, prefixes);
  if (prefix === undefined) throw new AclError(`${at}: "${pattern}" must start with one of ${prefixes.join(', ')}`);
  if (pattern.length === prefix.length) throw new AclError(`${at}: "${pattern}" has nothing after its prefix (use ${prefix}# for everything under it)`);
  const braces = pattern.replaceAll(USER_PLACEHOLDER, '');
  if (braces.includes('{') || braces.includes('}')) throw new AclError(`${at}: "${pattern}": the only placeholder is ${USER_PLACEHOLDER}`);
}

/** A string or a list of strings. */
function strings(value: unknown, at: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.some((v) => typeof v !== 'string' || v.length === 0)) {
    throw new AclError(`${at}: must be a non-empty string or a list of them`);
  }
  return list as string[];
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
