#!/usr/bin/env node
// Vendored unchanged from /work/shared/tools/stompbench/ref-uws-server.js (2026-11-25 snapshot); see bench/README.md.
'use strict';
// Physical-limit reference: a bare uWebSockets.js server with (almost) no STOMP logic.
//  CONNECT/STOMP -> CONNECTED; SUBSCRIBE -> ws.subscribe(destination) (+RECEIPT if asked);
//  SEND to a topic -> build ONE MESSAGE frame (headers + the SEND body) and app.publish() it to all
//  subscribers natively; RECEIPT if asked; DISCONNECT -> RECEIPT + close.
//  SEND to /queue/* -> round-robin ws.send() to one subscriber of that destination (bonus, for p2p).
// The MESSAGE frame carries "subscription:0" for everybody: stompbench subscribes with id 0 on each
// connection, so one pre-encoded frame is valid for all subscribers. Not a broker.
// usage: node ref-uws-server.js [--port 61630] [--host 127.0.0.1] [--max-backpressure BYTES]
const path = require('path');
const args = process.argv.slice(2);
const arg = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
const PORT = Number(arg('--port', 61630));
const HOST = arg('--host', '127.0.0.1');
const MAX_BP = Number(arg('--max-backpressure', 256 * 1024 * 1024));

const uWS = require('uWebSockets.js');
// Verify the native addon is in use (the package silently falls back to a JS implementation on
// ABI mismatch, printing a warning): the same object must come back from the .node binary itself.
const bin = path.join(path.dirname(require.resolve('uWebSockets.js')), '..', 'binaries',
  `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
let native = false;
try { native = require(bin) === uWS; } catch (e) { native = false; }
if (!native && !args.includes('--allow-fallback')) {
  console.error('ref-uws-server: uWebSockets.js native addon NOT loaded (JS fallback); refusing to run. Use --allow-fallback to override.');
  process.exit(1);
}
console.error(`ref-uws-server: uWebSockets.js native=${native} (${path.basename(bin)}), node ${process.version}, pid ${process.pid}`);

const dec = new TextDecoder();
const CONNECTED = Buffer.from('CONNECTED\nversion:1.2\nheart-beat:0,0\nserver:uws-ref/0\n\n\0');
let msgId = 0;
const queues = new Map(); // destination -> {list: ws[], i}

function receipt(id) { return 'RECEIPT\nreceipt-id:' + id + '\n\n\0'; }

function headersOf(buf, s, e) {
  // returns {cmd, h: Map-like object, bodyStart}
  let p = s; while (p < e && (buf[p] === 10 || buf[p] === 13)) p++;
  let nl = buf.indexOf(10, p); if (nl < 0 || nl > e) nl = e;
  const cmd = buf.toString('latin1', p, nl).replace(/\r$/, '');
  const h = {}; p = nl + 1;
  while (p < e) {
    let q = buf.indexOf(10, p); if (q < 0 || q > e) q = e;
    let line = buf.toString('utf8', p, q); p = q + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') break;
    const c = line.indexOf(':'); const k = line.slice(0, c);
    if (!(k in h)) h[k] = line.slice(c + 1);
  }
  return { cmd, h, body: Math.min(p, e) };
}

function onFrame(ws, buf, s, e) {
  const f = headersOf(buf, s, e);
  switch (f.cmd) {
    case 'SEND': {
      const dest = f.h.destination || '';
      const head = Buffer.from('MESSAGE\nsubscription:0\nmessage-id:' + (++msgId) + '\ndestination:' + dest +
        '\ncontent-length:' + (e - f.body) + '\n\n');
      const out = Buffer.allocUnsafe(head.length + (e - f.body) + 1);
      head.copy(out, 0); buf.copy(out, head.length, f.body, e); out[out.length - 1] = 0;
      if (dest.startsWith('/queue/')) {
        const q = queues.get(dest);
        if (q && q.list.length) { q.i = (q.i + 1) % q.list.length; q.list[q.i].send(out, false); }
      } else {
        app.publish(dest, out, false);
      }
      if (f.h.receipt) ws.send(receipt(f.h.receipt), false);
      break;
    }
    case 'CONNECT': case 'STOMP': ws.send(CONNECTED, false); break;
    case 'SUBSCRIBE': {
      const dest = f.h.destination || '';
      if (dest.startsWith('/queue/')) {
        let q = queues.get(dest); if (!q) { q = { list: [], i: 0 }; queues.set(dest, q); }
        q.list.push(ws); ws.getUserData().queues.push(dest);
      } else ws.subscribe(dest);
      if (f.h.receipt) ws.send(receipt(f.h.receipt), false);
      break;
    }
    case 'UNSUBSCRIBE': case 'ACK': case 'NACK': case 'BEGIN': case 'COMMIT': case 'ABORT':
      if (f.h.receipt) ws.send(receipt(f.h.receipt), false);
      break;
    case 'DISCONNECT':
      if (f.h.receipt) ws.send(receipt(f.h.receipt), false);
      ws.end(1000);
      break;
    default:
      ws.send('ERROR\nmessage:unknown command\n\n\0', false);
  }
}

const app = uWS.App().ws('/*', {
  compression: uWS.DISABLED,
  maxPayloadLength: 16 * 1024 * 1024,
  maxBackpressure: MAX_BP,
  closeOnBackpressureLimit: false,
  idleTimeout: 0,
  sendPingsAutomatically: false,
  upgrade: (res, req, context) => {
    const proto = req.getHeader('sec-websocket-protocol');
    let chosen = '';
    for (const p of proto.split(',').map((x) => x.trim())) if (['v12.stomp', 'v11.stomp', 'v10.stomp'].includes(p)) { chosen = p; break; }
    res.upgrade({ queues: [] }, req.getHeader('sec-websocket-key'), chosen, req.getHeader('sec-websocket-extensions'), context);
  },
  message: (ws, ab) => {
    const buf = Buffer.from(ab); // view, no copy (valid during this callback only)
    let s = 0;
    for (;;) {
      const z = buf.indexOf(0, s);
      if (z < 0) break; // frames never span WebSocket messages with stompbench
      if (z > s) onFrame(ws, buf, s, z);
      s = z + 1;
    }
  },
  close: (ws) => {
    for (const dest of ws.getUserData().queues) {
      const q = queues.get(dest); if (!q) continue;
      const i = q.list.indexOf(ws); if (i >= 0) q.list.splice(i, 1);
    }
  },
}).listen(HOST, PORT, (tok) => {
  if (!tok) { console.error('ref-uws-server: listen failed on ' + HOST + ':' + PORT); process.exit(1); }
  console.error(`ref-uws-server: listening on ws://${HOST}:${PORT}/ws`);
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
void dec;
