// resolveDestination: what a destination string means for SEND and SUBSCRIBE (DESIGN-NOTES
// "Destinations"). Pure function; the session turns its errors into ERROR frames.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_SESSION_CONFIG,
  hasWildcard,
  resolveDestination,
  type Destination,
  type DestinationPrefix,
} from '@stompede/session';

const prefixes = DEFAULT_SESSION_CONFIG.destinationPrefixes;

function ok(name: string, use: 'send' | 'subscribe', p: readonly DestinationPrefix[] = prefixes): Destination {
  const d = resolveDestination(name, use, p);
  if ('error' in d) assert.fail(`${name}: ${d.error} (${d.detail})`);
  return d;
}

function err(name: string, use: 'send' | 'subscribe', p: readonly DestinationPrefix[] = prefixes): { error: string; detail: string } {
  const d = resolveDestination(name, use, p);
  if (!('error' in d)) assert.fail(`${name} resolved to ${d.kind}`);
  return d;
}

describe('resolveDestination: prefixes', () => {
  test('/topic/ and /queue/ resolve with their kind and prefix length', () => {
    assert.deepEqual(ok('/topic/a.b', 'send'), { kind: 'topic', name: '/topic/a.b', prefixLength: 7, wildcard: false });
    assert.deepEqual(ok('/queue/jobs', 'subscribe'), { kind: 'queue', name: '/queue/jobs', prefixLength: 7, wildcard: false });
  });

  test('empty destination and a bare prefix are invalid', () => {
    assert.equal(err('', 'send').error, 'invalid destination');
    assert.equal(err('/topic/', 'subscribe').error, 'invalid destination');
    assert.equal(err('/queue/', 'send').error, 'invalid destination');
  });

  test('prefixes are matched exactly (case and trailing slash matter)', () => {
    assert.equal(err('/Topic/a', 'send').error, 'unknown destination prefix');
    assert.equal(err('/topica', 'send').error, 'unknown destination prefix');
  });

  test('configured extra prefixes resolve to their kind, and replace the defaults', () => {
    const custom: DestinationPrefix[] = [
      { prefix: '/exchange/', kind: 'topic' },
      { prefix: '/amq/queue/', kind: 'queue' },
    ];
    assert.deepEqual(ok('/exchange/x.*', 'subscribe', custom), { kind: 'topic', name: '/exchange/x.*', prefixLength: 10, wildcard: true });
    assert.deepEqual(ok('/amq/queue/q', 'send', custom), { kind: 'queue', name: '/amq/queue/q', prefixLength: 11, wildcard: false });
    const e = err('/topic/a', 'send', custom);
    assert.equal(e.error, 'unknown destination prefix');
    assert.match(e.detail, /\/exchange\/, \/amq\/queue\//);
  });
});

describe('resolveDestination: wildcards', () => {
  test('a segment exactly * or # makes a topic subscription a wildcard', () => {
    for (const name of ['/topic/*', '/topic/#', '/topic/a.*', '/topic/a.#.b', '/topic/*.b', '/topic/#.#']) {
      assert.equal(ok(name, 'subscribe').wildcard, true, name);
    }
  });

  test('* or # inside a longer segment, or after a slash, is an ordinary character', () => {
    for (const name of ['/topic/a*', '/topic/*a.b', '/topic/a.b#', '/topic/a/#', '/topic/a/*', '/topic/**', '/topic/##']) {
      assert.equal(ok(name, 'subscribe').wildcard, false, name);
      assert.equal(ok(name, 'send').wildcard, false, name);
    }
  });

  test('wildcards in SEND are refused', () => {
    const e = err('/topic/a.*', 'send');
    assert.equal(e.error, 'invalid destination');
    assert.match(e.detail, /SEND/);
    assert.equal(err('/topic/#', 'send').error, 'invalid destination');
  });

  test('wildcards on queues are refused for SUBSCRIBE and SEND', () => {
    for (const use of ['send', 'subscribe'] as const) {
      const e = err('/queue/jobs.*', use);
      assert.equal(e.error, 'invalid destination');
      assert.match(e.detail, /only supported on topic/);
    }
  });

  test('hasWildcard looks only after the prefix', () => {
    assert.equal(hasWildcard('/topic/a.b', 7), false);
    assert.equal(hasWildcard('/topic/a.*', 7), true);
    assert.equal(hasWildcard('*.x', 0), true);
    assert.equal(hasWildcard('/topic/', 7), false);
    assert.equal(hasWildcard('/topic/a..#', 7), true);
    // The prefix itself is not searched: ".*" straddling it does not count.
    assert.equal(hasWildcard('x.*/a', 4), false);
  });
});

describe('resolveDestination: temp and reply queues', () => {
  test('/temp-queue/ is only for reply-to: refused in SEND and SUBSCRIBE', () => {
    for (const use of ['send', 'subscribe'] as const) {
      const e = err('/temp-queue/replies', use);
      assert.equal(e.error, 'invalid destination');
      assert.match(e.detail, /reply-to/);
    }
  });

  test('/reply-queue/ can be sent to but not subscribed to', () => {
    assert.deepEqual(ok('/reply-queue/n/1/r', 'send'), { kind: 'reply', name: '/reply-queue/n/1/r', prefixLength: 13, wildcard: false });
    const e = err('/reply-queue/n/1/r', 'subscribe');
    assert.equal(e.error, 'invalid destination');
    assert.match(e.detail, /private/);
  });

  test('temp and reply rules hold whatever prefixes are configured', () => {
    const custom: DestinationPrefix[] = [{ prefix: '/', kind: 'topic' }];
    assert.equal(err('/temp-queue/x', 'send', custom).error, 'invalid destination');
    assert.equal(ok('/reply-queue/n/1/r', 'send', custom).kind, 'reply');
    assert.equal(ok('/anything', 'send', custom).kind, 'topic');
  });
});

describe('resolveDestination: unknown prefixes', () => {
  test('/app/ gets the Spring application-destination hint', () => {
    const e = err('/app/chat', 'send');
    assert.equal(e.error, 'unknown destination prefix');
    assert.match(e.detail, /Spring/);
    assert.match(e.detail, /@MessageMapping/);
    assert.match(e.detail, /"\/app\/=topic"/);
  });

  test('/user/ and /x-user/ are not resolved here: sessions resolve /user/ per user (user-destinations.test.ts)', () => {
    for (const use of ['send', 'subscribe'] as const) {
      const user = err('/user/queue/errors', use);
      assert.equal(user.error, 'invalid destination');
      assert.match(user.detail, /\/user\/queue\/<name>/);
      const internal = err('/x-user/alice/queue/errors', use);
      assert.equal(internal.error, 'invalid destination');
      assert.match(internal.detail, /reserved/);
    }
  });

  test('anything else lists the known prefixes and how to map a new one', () => {
    const e = err('/exchange/amq.topic/x', 'send');
    assert.equal(e.error, 'unknown destination prefix');
    assert.match(e.detail, /\/topic\/, \/queue\//);
    assert.match(e.detail, /STOMPEDE_DESTINATION_PREFIXES/);
    assert.match(e.detail, /"\/exchange\/=topic"/);
  });

  test('a name without a leading slash is unknown too', () => {
    assert.equal(err('queue/x', 'send').error, 'unknown destination prefix');
  });
});
