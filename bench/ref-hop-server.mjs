#!/usr/bin/env node
// The floor of a Redis Streams hop: what a node must at least spend to carry a message through Redis
// on this machine, with none of Stompede's work. Two of these, one Redis, and the cluster load driver
// give the `bare-hop` layout of `npm run bench -- --only cluster` (the cross-node layout's floor);
// one without --redis is the `bare-embedded` layout (bench/stompbench/ref-uws-server.js with this
// file's framing, so both floors share their STOMP handling).
//
//   SEND      -> one XADD (pre-encoded RESP, written once per event-loop turn for all SENDs of the
//                turn, on a raw socket); a RECEIPT when Redis replies, if asked. Embedded: publish.
//   SUBSCRIBE -> ws.subscribe(destination); the first subscriber of a destination starts a blocking
//                XREAD loop on a raw socket of its own; each entry read is published as one MESSAGE.
//   CONNECT   -> CONNECTED. Anything else: a RECEIPT if asked.
// No acks, no ids kept, no client library, no metrics beyond two counters (GET /metrics), GET /readyz.
// Not a broker: it exists to be measured against (docs/benchmarks.md).
//
// usage: node bench/ref-hop-server.mjs --port P [--redis-port R] [--host 127.0.0.1]
import { createRequire } from 'node:module';
import net from 'node:net';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const uWS = require('uWebSockets.js');

const { values: opts } = parseArgs({ options: { port: { type: 'string' }, 'redis-port': { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } } });
const PORT = Number(opts.port);
const REDIS_PORT = opts['redis-port'] ? Number(opts['redis-port']) : 0;
const STREAM_MAXLEN = 100_000;
const counters = { published: 0, entriesRead: 0 };

// ------------------------------------------------------------------ RESP
const bulk = (b) => Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]);
const command = (...args) => Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.map((a) => bulk(Buffer.isBuffer(a) ? a : Buffer.from(String(a))))]);

/** Parses one RESP value at `at`: [value, next offset], or undefined when the buffer ends first. */
function parse(buf, at) {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const type = buf[at];
  const line = buf.toString('latin1', at + 1, eol);
  if (type === 0x2b || type === 0x3a) return [line, eol + 2]; // + :
  if (type === 0x2d) return [new Error(line), eol + 2]; // -
  const n = Number(line);
  if (type === 0x24) { // $
    if (n < 0) return [null, eol + 2];
    if (buf.length < eol + 2 + n + 2) return undefined;
    return [buf.subarray(eol + 2, eol + 2 + n), eol + 2 + n + 2];
  }
  if (n < 0) return [null, eol + 2]; // *-1
  const items = [];
  let next = eol + 2;
  for (let i = 0; i < n; i++) {
    const r = parse(buf, next);
    if (r === undefined) return undefined;
    items.push(r[0]);
    next = r[1];
  }
  return [items, next];
}

/** A raw Redis connection: commands in, replies out in order. */
function redisConnection(onReply) {
  const socket = net.connect(REDIS_PORT, '127.0.0.1');
  socket.setNoDelay(true);
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    for (let r; (r = parse(pending, at)) !== undefined; at = r[1]) onReply(r[0]);
    pending = at === pending.length ? Buffer.alloc(0) : pending.subarray(at);
  });
  socket.on('error', (err) => { console.error(`ref-hop-server: redis: ${err.message}`); process.exit(1); });
  return socket;
}

// ------------------------------------------------------------------ publishing (XADD per SEND)
const streamKey = (dest) => Buffer.from(`hop:${dest}`);
const FIELD = Buffer.from('d');
/** Who waits for each XADD reply, in order: a receipt id and its socket, or null. */
const awaiting = [];
let outgoing = [];
const publisher = REDIS_PORT ? redisConnection((reply) => {
  if (reply instanceof Error) console.error(`ref-hop-server: XADD: ${reply.message}`);
  const waiter = awaiting.shift();
  // A publisher that left while its XADDs were out: uWS throws on any call to a closed socket.
  if (waiter && !waiter.state.closed) waiter.ws.send(receipt(waiter.id), false);
}) : null;

function publish(ws, dest, body, receiptId) {
  counters.published++;
  if (!publisher) {
    app.publish(dest, messageFrame(dest, body), false);
    if (receiptId) ws.send(receipt(receiptId), false);
    return;
  }
  if (outgoing.length === 0) setImmediate(flushOutgoing);
  outgoing.push(command('XADD', streamKey(dest), 'MAXLEN', '~', STREAM_MAXLEN, '*', FIELD, Buffer.from(body)));
  awaiting.push(receiptId ? { ws, state: ws.getUserData(), id: receiptId } : null);
}

function flushOutgoing() {
  publisher.write(outgoing.length === 1 ? outgoing[0] : Buffer.concat(outgoing));
  outgoing = [];
}

// ------------------------------------------------------------------ reading (XREAD BLOCK per destination)
const reading = new Set();

function follow(dest) {
  if (!REDIS_PORT || reading.has(dest)) return;
  reading.add(dest);
  let lastId = '$';
  const read = () => reader.write(command('XREAD', 'COUNT', 1000, 'BLOCK', 0, 'STREAMS', streamKey(dest), lastId));
  const reader = redisConnection((reply) => {
    if (reply instanceof Error) { console.error(`ref-hop-server: XREAD: ${reply.message}`); process.exit(1); }
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        counters.entriesRead++;
        app.publish(dest, messageFrame(dest, fields[1]), false);
        lastId = id;
      }
    }
    read();
  });
  read();
}

// ------------------------------------------------------------------ STOMP over WebSocket
const CONNECTED = Buffer.from('CONNECTED\nversion:1.2\nheart-beat:0,0\nserver:ref-hop/0\n\n\0');
let messageId = 0;
const receipt = (id) => `RECEIPT\nreceipt-id:${id}\n\n\0`;

function messageFrame(dest, body) {
  const head = Buffer.from(`MESSAGE\nsubscription:0\nmessage-id:${++messageId}\ndestination:${dest}\ncontent-length:${body.length}\n\n`);
  const out = Buffer.allocUnsafe(head.length + body.length + 1);
  head.copy(out, 0);
  out.set(body, head.length);
  out[out.length - 1] = 0;
  return out;
}

/** Command line and the headers this server looks at; the body is what follows the blank line. */
function frameOf(buf, start, end) {
  let eol = buf.indexOf(10, start);
  const cmd = buf.toString('latin1', start, eol).replace(/\r$/, '');
  const headers = {};
  for (let at = eol + 1; at < end; at = eol + 1) {
    eol = buf.indexOf(10, at);
    if (eol < 0 || eol > end) eol = end;
    const line = buf.toString('utf8', at, eol).replace(/\r$/, '');
    if (line === '') return { cmd, headers, body: buf.subarray(Math.min(eol + 1, end), end) };
    const colon = line.indexOf(':');
    headers[line.slice(0, colon)] ??= line.slice(colon + 1);
  }
  return { cmd, headers, body: buf.subarray(end, end) };
}

function onFrame(ws, frame) {
  const { cmd, headers } = frame;
  if (cmd === 'SEND') return publish(ws, headers.destination ?? '', frame.body, headers.receipt);
  if (cmd === 'CONNECT' || cmd === 'STOMP') return void ws.send(CONNECTED, false);
  if (cmd === 'SUBSCRIBE') {
    ws.subscribe(headers.destination ?? '');
    follow(headers.destination ?? '');
  }
  if (headers.receipt) ws.send(receipt(headers.receipt), false);
  if (cmd === 'DISCONNECT') ws.end(1000);
}

const app = uWS.App().ws('/*', {
  compression: uWS.DISABLED,
  maxPayloadLength: 16 * 1024 * 1024,
  maxBackpressure: 256 * 1024 * 1024,
  idleTimeout: 0,
  sendPingsAutomatically: false,
  upgrade: (res, req, context) => {
    const offered = req.getHeader('sec-websocket-protocol').split(',').map((p) => p.trim());
    const chosen = offered.find((p) => ['v12.stomp', 'v11.stomp', 'v10.stomp'].includes(p)) ?? '';
    res.upgrade({ closed: false }, req.getHeader('sec-websocket-key'), chosen, req.getHeader('sec-websocket-extensions'), context);
  },
  close: (ws) => {
    ws.getUserData().closed = true;
  },
  message: (ws, arrayBuffer) => {
    const buf = Buffer.from(arrayBuffer); // a view, valid during this callback only
    for (let start = 0, nul; (nul = buf.indexOf(0, start)) >= 0; start = nul + 1) {
      let at = start;
      while (at < nul && (buf[at] === 10 || buf[at] === 13)) at++; // heart-beats between frames
      if (at < nul) onFrame(ws, frameOf(buf, at, nul));
    }
  },
}).get('/readyz', (res) => res.end('ready\n'))
  .get('/metrics', (res) => res.end(`stompede_cluster_published_total ${counters.published}\nstompede_cluster_entries_read_total ${counters.entriesRead}\n`))
  .listen(opts.host, PORT, (token) => {
    if (!token) { console.error(`ref-hop-server: cannot listen on ${opts.host}:${PORT}`); process.exit(1); }
    console.error(`ref-hop-server: listening on ${opts.host}:${PORT}${REDIS_PORT ? `, Redis on ${REDIS_PORT}` : ', no Redis (embedded floor)'}`);
  });
