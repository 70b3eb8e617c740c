// The ACL rule engine without a broker: parsing and validating the YAML file, whom a rule applies
// to, the union of rules and default deny, {user}, the AND with token permissions, Access sharing,
// and the file's reload (last good rules kept on error).
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ANONYMOUS, DEFAULT_SESSION_CONFIG, type Permissions, type Principal } from '@stompede/session';
import { createAuthorization, readAcl } from '../src/acl-file.js';
import { RuleAuthorizer } from '../src/acl-authorizer.js';
import { knownPrefixes } from '../src/acl-patterns.js';
import { AclError, parseAcl, type AclContext } from '../src/acl-rules.js';
import { eventually } from './helpers/expect.js';

const context: AclContext = { prefixes: knownPrefixes(DEFAULT_SESSION_CONFIG.destinationPrefixes), vhosts: ['/', 'ops'] };

function engine(yaml: string | undefined): RuleAuthorizer {
  return new RuleAuthorizer(context.prefixes, yaml === undefined ? undefined : parseAcl(yaml, context));
}

function principal(name: string, extra: Partial<Principal> = {}): Principal {
  return { name, method: 'users', expiresAtMs: undefined, groups: [], permissions: undefined, ...extra };
}

const RULES = `
rules:
  - who: anonymous
    subscribe: [/topic/public.#]
    send: /topic/#
  - who: [user:alice, group:ops]
    send: [/queue/orders]
    consume: [/queue/orders, /queue/orders.*]
  - who: authenticated
    subscribe: ['/topic/user.{user}.#']
    consume: ['/queue/inbox.{user}']
  - who: everyone
    send: [/reply-queue/#]
    subscribe: [/topic/status]
  - who: group:ops
    vhosts: [ops]
    subscribe: [/topic/#]
`;

describe('ACL file: syntax', () => {
  test('a valid file parses into rules', () => {
    const rules = parseAcl(RULES, context);
    assert.equal(rules.length, 5);
    assert.deepEqual(rules[1]!.who, [{ kind: 'user', name: 'alice' }, { kind: 'group', name: 'ops' }]);
    assert.deepEqual(rules[0]!.send, ['/topic/#'], 'a single pattern may be a plain string');
    assert.equal(rules[2]!.perUser, true);
    assert.deepEqual(rules[4]!.vhosts, ['ops']);
  });

  test('mistakes are refused with where they are', () => {
    const cases: [string, RegExp][] = [
      ['rules: [', /not valid YAML/],
      ['- who: everyone', /must be a YAML mapping/],
      ['rule: []', /unknown top-level key "rule"/],
      ['rules: {}', /"rules" must be a list/],
      ['rules:\n  - send: [/topic/a]', /rules\[0\]: "who" is missing/],
      ['rules:\n  - who: everybody', /rules\[0\]\.who\[0\]: "everybody" is not/],
      ['rules:\n  - who: []', /rules\[0\]\.who: names nobody/],
      ["rules:\n  - who: \"user:\"", /"user:" is not/],
      ['rules:\n  - who: everyone\n    subcribe: [/topic/a]', /rules\[0\]: unknown key "subcribe"/],
      ['rules:\n  - who: everyone\n    send: [/app/x]', /rules\[0\]\.send\[0\]: "\/app\/x" must start with one of/],
      ['rules:\n  - who: everyone\n    send: [/topic/]', /has nothing after its prefix/],
      ['rules:\n  - who: everyone\n    send: [/temp-queue/x]', /not destinations/],
      ["rules:\n  - who: everyone\n    send: ['/topic/{name}']", /the only placeholder is \{user\}/],
      ['rules:\n  - who: everyone\n    send: [1]', /must be a non-empty string or a list of them/],
      ['rules:\n  - who: everyone\n    vhosts: [nope]', /"nope" is not a virtual host/],
      ['rules:\n  - who: everyone\n    who: anonymous', /not valid YAML.*[Mm]ap keys must be unique/s],
    ];
    for (const [yaml, expected] of cases) {
      assert.throws(() => parseAcl(yaml, context), (err: unknown) => err instanceof AclError && expected.test(err.message), yaml);
    }
  });

  test('an empty rule list is valid and allows nothing', () => {
    const a = engine('rules: []').access(ANONYMOUS, '/');
    assert.equal(a.unrestricted, false);
    assert.equal(a.mayPublish('/topic/a'), false);
  });
});

describe('ACL rules: semantics', () => {
  const acl = engine(RULES);

  test('anonymous: only what anonymous and everyone rules grant', () => {
    const a = acl.access(ANONYMOUS, '/');
    assert.equal(a.maySubscribe('/topic/public.news'), true);
    assert.equal(a.maySubscribe('/topic/public'), true, '# matches zero segments');
    assert.equal(a.maySubscribe('/topic/secret.x'), false, 'default deny');
    assert.equal(a.maySubscribe('/topic/status'), true, 'everyone');
    assert.equal(a.mayPublish('/topic/anything.at.all'), true);
    assert.equal(a.mayPublish('/queue/orders'), false);
    assert.equal(a.mayConsume('/queue/orders'), false);
    assert.equal(a.mayPublish('/reply-queue/node/s1/r'), true);
    assert.equal(a.maySubscribeUnder('/topic/'), true);
    assert.equal(a.maySubscribeUnder('/queue/'), false);
    assert.equal(a.maySubscribe('/topic/user.anonymous.x'), false, '{user} never applies to anonymous sessions');
  });

  test('users and groups: the union of every rule that applies', () => {
    const alice = acl.access(principal('alice'), '/');
    assert.equal(alice.mayPublish('/queue/orders'), true);
    assert.equal(alice.mayConsume('/queue/orders.eu'), true);
    assert.equal(alice.mayConsume('/queue/orders.eu.x'), false);
    assert.equal(alice.mayPublish('/topic/x'), false, 'anonymous rules do not apply to users');
    assert.equal(alice.maySubscribe('/topic/status'), true);
    const op = acl.access(principal('oscar', { groups: ['ops'] }), '/');
    assert.equal(op.mayPublish('/queue/orders'), true);
    assert.equal(op.maySubscribe('/topic/secret.x'), false, 'the ops-wide rule is for the ops vhost only');
    assert.equal(acl.access(principal('oscar', { groups: ['ops'] }), 'ops').maySubscribe('/topic/secret.x'), true);
    assert.equal(acl.access(principal('bob'), '/').mayPublish('/queue/orders'), false);
  });

  test('user: and group: never match an anonymous session, whatever its name', () => {
    const spoof = acl.access({ ...ANONYMOUS, name: 'alice', groups: ['ops'] }, '/');
    assert.equal(spoof.mayPublish('/queue/orders'), false);
    assert.equal(spoof.maySubscribe('/topic/user.alice.x'), false);
  });

  test('{user} is the principal name as one segment; names that are not one segment get nothing from it', () => {
    const bob = acl.access(principal('bob'), '/');
    assert.equal(bob.maySubscribe('/topic/user.bob.inbox'), true);
    assert.equal(bob.maySubscribe('/topic/user.bob'), true);
    assert.equal(bob.maySubscribe('/topic/user.alice.inbox'), false);
    assert.equal(bob.mayConsume('/queue/inbox.bob'), true);
    for (const name of ['a.b', '*', '#', '']) {
      const a = acl.access(principal(name), '/');
      assert.equal(a.maySubscribe('/topic/user.a.b.x'), false, JSON.stringify(name));
      assert.equal(a.maySubscribe('/topic/user.x.y'), false, JSON.stringify(name));
    }
  });

  test('principals with the same rights share one Access; {user} rules make it per user', () => {
    const anon1 = acl.access(ANONYMOUS, '/');
    assert.equal(acl.access({ ...ANONYMOUS }, '/'), anon1);
    assert.notEqual(acl.access(ANONYMOUS, 'ops'), anon1);
    assert.notEqual(acl.access(principal('bob'), '/'), acl.access(principal('carl'), '/'));
    const noUserRules = engine('rules:\n  - who: authenticated\n    send: [/topic/a]');
    assert.equal(noUserRules.access(principal('bob'), '/'), noUserRules.access(principal('carl'), '/'));
  });

  test('token permissions are ANDed with the file: they narrow, never widen', () => {
    const permissions: Permissions = { send: ['/queue/orders', '/topic/#'], subscribe: ['/topic/user.{user}.inbox'], consume: [] };
    const a = acl.access(principal('alice', { permissions }), '/');
    assert.equal(a.mayPublish('/queue/orders'), true, 'both allow');
    assert.equal(a.mayPublish('/topic/x'), false, 'the token allows, the file does not');
    assert.equal(a.mayConsume('/queue/orders'), false, 'the file allows, the token does not');
    assert.equal(a.maySubscribe('/topic/user.alice.inbox'), true);
    assert.equal(a.maySubscribe('/topic/user.alice.other'), false);
    assert.equal(a.maySubscribeUnder('/topic/'), true);
  });

  test('without a file: everything, unless the credentials carry permissions, which then decide alone', () => {
    const open = engine(undefined);
    assert.equal(open.access(ANONYMOUS, '/').unrestricted, true);
    assert.equal(open.access(principal('alice'), '/').unrestricted, true);
    const a = open.access(principal('alice', { permissions: { send: ['/topic/a.*', '/bogus/x'], subscribe: [], consume: ['/queue/q'] } }), '/');
    assert.equal(a.unrestricted, false);
    assert.equal(a.mayPublish('/topic/a.b'), true);
    assert.equal(a.mayPublish('/topic/b'), false);
    assert.equal(a.mayConsume('/queue/q'), true);
    assert.equal(a.maySubscribeUnder('/topic/'), false);
  });
});

describe('ACL file: loading and reload', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stompede-acl-'));

  test('a missing or broken file at start is an error naming the file', () => {
    assert.throws(() => readAcl(join(dir, 'missing.yaml'), context), /STOMPEDE_ACL_FILE .*missing\.yaml: cannot read it/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'rules:\n  - who: nobody\n');
    assert.throws(() => readAcl(bad, context), /STOMPEDE_ACL_FILE .*bad\.yaml: rules\[0\]\.who\[0\]/);
  });

  test('a changed file is reloaded; a broken one keeps the last good rules and says why', async () => {
    const file = join(dir, 'acl.yaml');
    writeFileSync(file, 'rules:\n  - who: everyone\n    send: [/topic/a]\n');
    const logged: { level: string; msg: string; obj: Record<string, unknown> }[] = [];
    const log = (level: string) => (obj: object, msg?: string): void => void logged.push({ level, msg: msg ?? '', obj: obj as Record<string, unknown> });
    const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
    const authz = createAuthorization({ aclFile: file, destinationPrefixes: DEFAULT_SESSION_CONFIG.destinationPrefixes, vhosts: ['/'] }, logger);
    try {
      const may = (d: string): boolean => authz.authorizer.access(ANONYMOUS, '/').mayPublish(d);
      assert.equal(may('/topic/b'), false);
      // Written elsewhere and renamed into place, as editors and ConfigMap updates do.
      writeFileSync(`${file}.tmp`, 'rules:\n  - who: everyone\n    send: [/topic/b]\n');
      renameSync(`${file}.tmp`, file);
      await eventually(() => may('/topic/b'), () => JSON.stringify(logged));
      assert.equal(may('/topic/a'), false);
      assert.equal(authz.authorizer.generation, 1);
      writeFileSync(file, 'rules:\n  - who: everyone\n    sendd: [/topic/c]\n');
      await eventually(() => logged.some((l) => l.level === 'warn'), () => JSON.stringify(logged));
      const warn = logged.find((l) => l.level === 'warn')!;
      assert.match(warn.msg, /keeping the last good rules/);
      assert.match(String(warn.obj['err']), /unknown key "sendd"/);
      assert.equal(may('/topic/b'), true, 'the last good rules stay in force');
      assert.equal(authz.authorizer.generation, 1);
    } finally {
      authz.stop();
    }
  });
});
