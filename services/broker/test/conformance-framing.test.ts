// STOMP 1.2 server checklist, section 2.1 "Framing and encoding", rules #1-#9: line endings, case,
// frame boundaries, UTF-8 and header escaping. Black-box, against a real broker over TCP and
// WebSocket. Rules #10-#17 are in conformance-framing-body.test.ts, #18 in
// conformance-framing-limits.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { messageTagged, unique, waitMessages } from './helpers/conformance-kit.js';
import { expectErrorThenClose, refused } from './helpers/expect.js';
import { bodyText, frame, frameWithEol, header, headerAll, TRANSPORTS, unescape12 } from './helpers/raw-client.js';
import { useBroker } from './helpers/suite.js';

describe('conformance: framing and header encoding (#1-#9)', () => {
  // Two extra vhosts whose names hold a backslash and a colon, for #8 (CONNECT is not unescaped).
  const { broker, connectRaw, openRaw, subscriber } = useBroker({ env: { STOMPEDE_VHOSTS: '/,tenant\\c1,vh:2' } });

  for (const t of TRANSPORTS) {
    test(`#1 accepts LF and CRLF line endings, also mixed in one frame (${t})`, async () => {
      const dest = unique('/topic/eol-');
      const c = await openRaw(t);
      // All-CRLF CONNECT: a CR left on accept-version or host would fail negotiation.
      c.send(frameWithEol('\r\n', 'CONNECT', [['accept-version', '1.2'], ['host', '/'], ['heart-beat', '0,0']]));
      const connected = await c.next();
      assert.equal(connected.command, 'CONNECTED', bodyText(connected));
      assert.equal(header(connected, 'version'), '1.2');
      // A CR kept in a header value would come back escaped as `\r` in the RECEIPT and MESSAGE.
      c.send(frameWithEol('\r\n', 'SUBSCRIBE', [['id', 's1'], ['destination', dest], ['receipt', 'sub-crlf']]));
      const r = await c.waitForCommand('RECEIPT');
      assert.equal(header(r, 'receipt-id'), 'sub-crlf');
      c.send(frame('SEND', { destination: dest, 'x-tag': 'lf' }, 'body-lf'));
      c.send(frameWithEol('\r\n', 'SEND', [['destination', dest], ['x-tag', 'crlf']], 'body-crlf'));
      c.send(`SEND\r\ndestination:${dest}\nx-tag:mixed\r\nx-extra:v\n\r\nline1\r\nline2\n\0`);
      const got = await waitMessages(c, 3);
      assert.deepEqual(got.map((m) => header(m, 'x-tag')), ['lf', 'crlf', 'mixed']);
      assert.deepEqual(got.map((m) => header(m, 'destination')), [dest, dest, dest]);
      assert.deepEqual(got.map((m) => header(m, 'subscription')), ['s1', 's1', 's1']);
      // The blank line ends the headers whatever its EOL; EOLs inside the body are body bytes.
      assert.deepEqual(got.map(bodyText), ['body-lf', 'body-crlf', 'line1\r\nline2\n']);
      assert.equal(header(got[2]!, 'x-extra'), 'v');
    });

    test(`#2 commands are case sensitive: "send" is an unknown command (${t})`, async () => {
      // No body: a body on anything but SEND is refused first ("unexpected body", #10).
      const e = await refused(broker(), frame('send', { destination: '/topic/case' }), 'unknown command', { kind: t });
      assert.match(bodyText(e), /"send"/);
      await refused(broker(), frame('Send', { destination: '/topic/case' }), 'unknown command', { kind: t });
    });

    test(`#2 a lowercase "connect" is not CONNECT (${t})`, async () => {
      await refused(broker(), frame('connect', { 'accept-version': '1.2', host: '/' }), 'not connected', { kind: t, connect: false });
    });

    test(`#2 header names are case sensitive: "Destination" is not destination (${t})`, async () => {
      await refused(broker(), frame('SEND', { Destination: '/topic/case' }, 'x'), 'missing header', { kind: t });
      // Next to a real destination, "Destination" is just a user header and passes through.
      const dest = unique('/topic/case-');
      const sub = await subscriber(t, dest);
      const pub = await connectRaw(t);
      pub.send(frame('SEND', [['destination', dest], ['Destination', '/topic/elsewhere'], ['x-tag', 'case']], 'x'));
      const m = await messageTagged(sub, 'case');
      assert.equal(header(m, 'destination'), dest);
      assert.deepEqual(headerAll(m, 'Destination'), ['/topic/elsewhere']);
    });

    test(`#3 a frame ends at NUL; EOLs before, between and after frames are skipped (${t})`, async () => {
      const dest = unique('/topic/nul-');
      const sub = await subscriber(t, dest);
      const pub = await openRaw(t);
      pub.send(Buffer.concat([Buffer.from('\n\r\n\n'), frame('CONNECT', { 'accept-version': '1.2', host: '/', 'heart-beat': '0,0' }), Buffer.from('\n\n')]));
      assert.equal((await pub.next()).command, 'CONNECTED');
      // The checklist's example: SEND...^@\n\n\nSEND...^@ in one write, and CRLFs between frames too.
      pub.send(Buffer.concat([
        frame('SEND', { destination: dest, 'x-tag': 'one' }, 'one'),
        Buffer.from('\n\n\n'),
        frame('SEND', { destination: dest, 'x-tag': 'two' }, 'two'),
        Buffer.from('\r\n\r\n\n'),
        frame('SEND', { destination: dest, 'x-tag': 'three', receipt: 'r-three' }, 'three'),
        Buffer.from('\n'),
      ]));
      assert.equal(header(await pub.waitForCommand('RECEIPT'), 'receipt-id'), 'r-three');
      // EOL-only writes (heart-beat style) between frames.
      pub.send('\n');
      pub.send('\r\n');
      pub.send(frame('SEND', { destination: dest, 'x-tag': 'four' }, 'four'));
      const got = await waitMessages(sub, 4);
      assert.deepEqual(got.map((m) => header(m, 'x-tag')), ['one', 'two', 'three', 'four']);
      assert.deepEqual(got.map(bodyText), ['one', 'two', 'three', 'four']);
      assert.deepEqual(pub.frames.map((f) => f.command), ['CONNECTED', 'RECEIPT'], 'no ERROR for the EOLs');
    });

    test(`#4 non-ASCII UTF-8 header names and values survive SEND to MESSAGE unchanged (${t})`, async () => {
      const dest = unique('/topic/utf8-');
      const value = 'héllo wörld – 日本語 🎉';
      const sub = await subscriber(t, dest);
      const pub = await connectRaw(t);
      pub.send(frame('SEND', [['destination', dest], ['x-tag', 'utf8'], ['x-ключ', value], ['x-euro', '€'], ['x-emoji', '🎉🎉']], 'b'));
      const m = await messageTagged(sub, 'utf8');
      assert.equal(header(m, 'x-ключ'), value);
      assert.equal(header(m, 'x-euro'), '€');
      assert.equal(header(m, 'x-emoji'), '🎉🎉');
    });

    test(`#5 escapes in SEND headers are decoded: x:a\\cb\\nc means a:b<LF>c (${t})`, async () => {
      const suffix = unique('r5-');
      // The destination is decoded too: a 1.0 subscriber (no escaping in 1.0) names it with a raw colon.
      const decodedDest = `/topic/${suffix}:x`;
      const sub10 = await subscriber(t, decodedDest, {}, { 'accept-version': '1.0' });
      const sub12 = await subscriber(t, `/topic/${suffix}\\cx`);
      const pub = await connectRaw(t);
      pub.send(frame('SEND', [
        ['destination', `/topic/${suffix}\\cx`],
        ['x-tag', 'esc'],
        ['x', 'a\\cb\\nc'],
        ['x-colon', 'a\\cb'],
        ['x-backslash', 'a\\\\b'],
        ['x-all', '\\r\\n\\c\\\\'],
        ['x\\cname', 'named'],
      ], 'x'));
      const m12 = await messageTagged(sub12, 'esc');
      assert.equal(unescape12(header(m12, 'destination')!), decodedDest);
      assert.equal(unescape12(header(m12, 'x')!), 'a:b\nc');
      assert.equal(unescape12(header(m12, 'x-all')!), '\r\n:\\');
      const named = m12.headers.find(([k]) => unescape12(k) === 'x:name');
      assert.equal(named?.[1], 'named');
      const m10 = await messageTagged(sub10, 'esc');
      assert.equal(header(m10, 'destination'), decodedDest);
      assert.equal(header(m10, 'x-colon'), 'a:b');
      assert.equal(header(m10, 'x-backslash'), 'a\\b');
    });

    test(`#6 an undefined escape sequence is a fatal protocol error (${t})`, async () => {
      const dest = '/topic/esc6';
      await refused(broker(), frame('SEND', { destination: dest, x: 'a\\tb' }, 'x'), 'undefined escape sequence', { kind: t });
      await refused(broker(), frame('SEND', { destination: dest, x: 'trailing\\' }, 'x'), 'undefined escape sequence', { kind: t });
      await refused(broker(), frame('SEND', { destination: dest, 'x\\t': 'in-name' }, 'x'), 'undefined escape sequence', { kind: t });
      await refused(broker(), frame('SUBSCRIBE', { id: 'a\\xb', destination: dest }), 'undefined escape sequence', { kind: t });
      // \r is a 1.2 escape; STOMP 1.1 does not define it.
      await refused(broker(), frame('SEND', { destination: dest, x: 'a\\rb' }, 'x'), 'undefined escape sequence', { kind: t, connect: { 'accept-version': '1.1' } });
    });

    test(`#7 MESSAGE, RECEIPT and ERROR headers are escaped on the wire (${t})`, async () => {
      const suffix = unique('r7-');
      const sub = await connectRaw(t);
      await sub.sendWithReceipt('SUBSCRIBE', { id: 's\\c7', destination: `/topic/${suffix}\\cq` });
      const sub11 = await subscriber(t, `/topic/${suffix}\\cq`, {}, { 'accept-version': '1.1' });
      const pub = await connectRaw(t);
      pub.send(frame('SEND', [
        ['destination', `/topic/${suffix}\\cq`],
        ['x-tag', 'esc'],
        ['x', 'a\\cb\\nc\\\\d\\re'],
        ['k\\cey', 'v'],
        ['receipt', 'rc\\c1\\n'],
      ], 'x'));
      assert.ok(await pub.waitFor((f) => f.command === 'RECEIPT' && header(f, 'receipt-id') === 'rc\\c1\\n'));
      const m = await messageTagged(sub, 'esc');
      assert.equal(header(m, 'subscription'), 's\\c7');
      assert.equal(header(m, 'destination'), `/topic/${suffix}\\cq`);
      assert.equal(header(m, 'x'), 'a\\cb\\nc\\\\d\\re');
      assert.equal(headerAll(m, 'k\\cey').length, 1);
      // message-id contains the destination; its colon is escaped too.
      assert.ok(header(m, 'message-id')!.startsWith(`/topic/${suffix}\\cq@`), header(m, 'message-id'));
      // STOMP 1.1 escapes \\ \n and : the same way (it has no \r escape, so no CR here).
      pub.send(frame('SEND', [['destination', `/topic/${suffix}\\cq`], ['x-tag', 'esc11'], ['x', 'a\\cb\\nc\\\\d']], 'x'));
      assert.equal(header(await messageTagged(sub11, 'esc11'), 'x'), 'a\\cb\\nc\\\\d');
      // ERROR: the receipt-id of the failing frame is escaped as well.
      const bad = await connectRaw(t);
      bad.send(frame('SEND', { receipt: 'bad\\cr\\nid\\\\' }, 'no destination'));
      const e = await expectErrorThenClose(bad, 'missing header');
      assert.equal(header(e, 'receipt-id'), 'bad\\cr\\nid\\\\');
    });

    test(`#8 CONNECT and CONNECTED headers are not escaped (${t})`, async () => {
      // CONNECTED: session is "<nodeId>:<n>", its colon sent raw.
      const c = await connectRaw(t, { login: 'us\\er', passcode: 'p\\a\\ss\\' });
      assert.match(header(c.frames[0]!, 'session')!, /^test-node:[0-9a-z]+$/);
      // host taken literally: "tenant\c1" is a configured vhost; decoded it would be "tenant:1".
      const lit = await connectRaw(t, { host: 'tenant\\c1' });
      assert.equal(header(lit.frames[0]!, 'version'), '1.2');
      const colon = await connectRaw(t, { host: 'vh:2' });
      assert.equal(header(colon.frames[0]!, 'version'), '1.2');
      await refused(broker(), frame('STOMP', { 'accept-version': '1.2', host: 'tenant:1' }), 'unknown virtual host', { kind: t, connect: false });
    });

    test(`#9 header values are never trimmed or padded (${t})`, async () => {
      const dest = unique('/topic/trim-');
      const sub = await subscriber(t, dest);
      const pub = await connectRaw(t);
      pub.send(frame('SEND', [['destination', dest], ['x-tag', 'trim'], ['foo', ' bar'], ['x-pad', '  both  '], ['x-tab', '\tq\t'], [' x-sp ', 'name']], 'x'));
      const m = await messageTagged(sub, 'trim');
      assert.equal(header(m, 'foo'), ' bar');
      assert.equal(header(m, 'x-pad'), '  both  ');
      assert.equal(header(m, 'x-tab'), '\tq\t');
      assert.equal(header(m, ' x-sp '), 'name');
      // Required headers are not trimmed either.
      await refused(broker(), frame('SEND', { destination: ` ${dest}` }, 'x'), 'unknown destination prefix', { kind: t });
      await refused(broker(), frame('CONNECT', { 'accept-version': '1.2', host: ' /' }), 'unknown virtual host', { kind: t, connect: false });
    });
  }
});
