#!/usr/bin/env node
// Parser throughput: Stompede's FrameParser (@stompede/stomp, the built libs/stomp/dist) against
// @stomp/stompjs's exported Parser, fed exactly the same chunks of the same byte stream of client frames.
//
// The stream is a realistic client mix: one CONNECT, a few SUBSCRIBEs, then mostly SEND (128 B to 4 KiB
// bodies, log-uniform; 75% with content-length, a few binary bodies with NULs, which need it), ACK/NACK,
// some SUBSCRIBE/UNSUBSCRIBE/BEGIN/COMMIT, and heart-beat EOLs. It is cut into chunks two ways:
//   ws-messages  one WebSocket message per frame (and per heart-beat), which is what stompjs, stomp.py
//                over WS and most browser clients send;
//   split        random 1-16 KiB chunks regardless of frame boundaries (batching clients; frames split
//                across chunks exercise the parsers' carry-over paths).
// Every chunk is its own ArrayBuffer, prepared before timing: stompjs gets the ArrayBuffer (what it
// receives from a WebSocket), Stompede gets `new Uint8Array(ab)` (what the uWS transport does).
// The frame callbacks only count frames and body bytes. An untimed verification pass checks that both
// parsers saw the same frames (command, header count, body length and body hash, in order).
//
// usage: node bench/parser.mjs [--quick] [--mb 4] [--rounds 7] [--min-ms 400] [--seed 1] [--json]
// Prints a human-readable report and, as its last stdout line, one JSON object (only that with --json).
import { FrameParser, DEFAULT_PARSER_LIMITS } from '@stompede/stomp';
import { Parser as StompjsParser } from '@stomp/stompjs';

// ------------------------------------------------------------------ args
function parseArgs(argv) {
  const o = { quick: false, mb: null, rounds: null, minMs: null, seed: 1, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a} needs a positive number`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--mb') o.mb = num();
    else if (a === '--rounds') o.rounds = Math.round(num());
    else if (a === '--min-ms') o.minMs = num();
    else if (a === '--seed') o.seed = Math.round(num());
    else if (a === '--json') o.json = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node bench/parser.mjs [--quick] [--mb MB] [--rounds N] [--min-ms MS] [--seed N] [--json]\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  o.mb ??= o.quick ? 1 : 4;
  o.rounds ??= o.quick ? 3 : 7;
  o.minMs ??= o.quick ? 60 : 400;
  return o;
}

// ------------------------------------------------------------------ deterministic stream
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function buildStream(targetBytes, seed) {
  const rand = rng(seed);
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const hex = (n) => Array.from({ length: n }, () => '0123456789abcdef'[int(0, 15)]).join('');
  const units = []; // { bytes: Buffer, frame: boolean }
  const counts = {};
  let total = 0;
  let eols = 0;
  const frame = (command, headers, body) => {
    let head = command + '\n';
    for (const [k, v] of headers) head += `${k}:${v}\n`;
    head += '\n';
    const h = Buffer.from(head, 'utf8');
    const b = body ?? Buffer.alloc(0);
    const bytes = Buffer.concat([h, b, Buffer.from([0])]);
    units.push({ bytes, frame: true });
    counts[command] = (counts[command] ?? 0) + 1;
    total += bytes.length;
  };
  const eol = () => {
    const s = rand() < 0.8 ? '\n' : '\r\n';
    units.push({ bytes: Buffer.from(s, 'latin1'), frame: false });
    eols++;
    total += s.length;
  };
  const textBody = (size) => {
    const prefix = `{"id":${int(1, 1e9)},"ts":${1764000000000 + int(0, 1e8)},"type":"${pick(['order', 'quote', 'trade', 'event'])}","data":"`;
    const suffix = '"}';
    let s = prefix;
    const n = Math.max(0, size - prefix.length - suffix.length);
    for (let i = 0; i < n; i++) s += ALNUM[(i * 7 + size) % ALNUM.length];
    return Buffer.from(s + suffix, 'utf8').subarray(0, Math.max(size, prefix.length + suffix.length));
  };
  const binaryBody = (size) => {
    const b = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) b[i] = int(0, 255);
    b[int(0, size - 1)] = 0; // at least one NUL inside: content-length is required
    return b;
  };

  frame('CONNECT', [['accept-version', '1.1,1.2'], ['host', '/'], ['heart-beat', '10000,10000'], ['login', 'guest'], ['passcode', 'guest']]);
  const subs = [];
  for (let i = 0; i < 8; i++) {
    const id = `sub-${i}`;
    subs.push(id);
    frame('SUBSCRIBE', [['id', id], ['destination', `/topic/prices.eu.${i}`], ['ack', i % 2 ? 'client-individual' : 'auto']]);
  }
  let seq = 0;
  let tx = 0;
  while (total < targetBytes) {
    const r = rand();
    seq++;
    if (r < 0.78) {
      const size = Math.round(Math.exp(Math.log(128) + rand() * (Math.log(4096) - Math.log(128))));
      const binary = rand() < 0.05;
      const withLength = binary || rand() < 0.75;
      const body = binary ? binaryBody(size) : textBody(size);
      const h = [['destination', rand() < 0.7 ? `/topic/orders.region${int(1, 9)}.${pick(['AAPL', 'MSFT', 'GOOG', 'AMZN'])}` : `/queue/jobs.${int(1, 20)}`]];
      h.push(['content-type', binary ? 'application/octet-stream' : 'application/json;charset=utf-8']);
      if (withLength) h.push(['content-length', String(body.length)]);
      if (rand() < 0.5) h.push(['x-trace-id', hex(32)]);
      if (rand() < 0.2) h.push(['receipt', `r-${seq}`]);
      if (rand() < 0.05) h.push(['x-note', 'a\\cb']); // an escaped colon
      frame('SEND', h, body);
    } else if (r < 0.9) {
      frame('ACK', [['id', `${int(1, 8)}.${seq}`]].concat(rand() < 0.1 ? [['receipt', `a-${seq}`]] : []));
    } else if (r < 0.92) {
      frame('NACK', [['id', `${int(1, 8)}.${seq}`], ['requeue', 'true']]);
    } else if (r < 0.935) {
      const id = `sub-${seq}`;
      frame('SUBSCRIBE', [['id', id], ['destination', `/queue/jobs.${int(1, 20)}`], ['ack', 'client'], ['prefetch-count', String(int(1, 100))]]);
      frame('UNSUBSCRIBE', [['id', id]]);
    } else if (r < 0.945) {
      const t = `tx-${++tx}`;
      frame('BEGIN', [['transaction', t]]);
      frame(rand() < 0.8 ? 'COMMIT' : 'ABORT', [['transaction', t]]);
    } else {
      eol(); // heart-beat
    }
  }
  const stream = Buffer.concat(units.map((u) => u.bytes));
  const frames = Object.values(counts).reduce((a, b) => a + b, 0);
  return { units, stream, counts, frames, eols, lfs: countLfs(units) };
}

// LFs outside frames (stompjs reports each as an incoming ping).
function countLfs(units) {
  let n = 0;
  for (const u of units) if (!u.frame) for (const b of u.bytes) if (b === 10) n++;
  return n;
}

function toArrayBuffer(buf) {
  const ab = new ArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  return ab;
}

function chunkings(s, seed) {
  const rand = rng(seed + 17);
  const ws = s.units.map((u) => toArrayBuffer(u.bytes));
  const split = [];
  for (let pos = 0; pos < s.stream.length; ) {
    const n = Math.min(s.stream.length - pos, 1024 + Math.floor(rand() * 15 * 1024));
    split.push(toArrayBuffer(s.stream.subarray(pos, pos + n)));
    pos += n;
  }
  return [
    { name: 'ws-messages', desc: 'one WebSocket message per frame / heart-beat', chunks: ws },
    { name: 'split', desc: 'random 1-16 KiB chunks, frames split across chunks', chunks: split },
  ];
}

// ------------------------------------------------------------------ the two parsers
function passStompede(chunks) {
  let frames = 0;
  let body = 0;
  const p = new FrameParser(DEFAULT_PARSER_LIMITS, (f) => {
    frames++;
    body += f.body.length;
  });
  for (let i = 0; i < chunks.length; i++) p.push(new Uint8Array(chunks[i]));
  return { frames, body, pings: null };
}

function passStompjs(chunks) {
  let frames = 0;
  let body = 0;
  let pings = 0;
  const p = new StompjsParser(
    (f) => {
      frames++;
      body += f.binaryBody.length;
    },
    () => {
      pings++;
    },
  );
  for (let i = 0; i < chunks.length; i++) p.parseChunk(chunks[i]);
  return { frames, body, pings };
}

const PARSERS = { stompede: passStompede, stompjs: passStompjs };

function fnv(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

// Untimed: the same frames, in the same order, from both parsers.
function verify(chunks) {
  const a = [];
  const pa = new FrameParser(DEFAULT_PARSER_LIMITS, (f) => a.push(`${f.command}|${f.headers.size}|${f.body.length}|${fnv(f.body)}`));
  for (const c of chunks) pa.push(new Uint8Array(c));
  const b = [];
  const pb = new StompjsParser((f) => b.push(`${f.command}|${f.headers.length}|${f.binaryBody.length}|${fnv(f.binaryBody)}`), () => {});
  for (const c of chunks) pb.parseChunk(c);
  let firstDiff = -1;
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) { firstDiff = i; break; }
  return { stompede: a.length, stompjs: b.length, identical: firstDiff < 0, firstDiff: firstDiff < 0 ? undefined : { index: firstDiff, stompede: a[firstDiff], stompjs: b[firstDiff] } };
}

function measure(fn, chunks, bytes, minMs) {
  let passes = 0;
  let last;
  const t0 = process.hrtime.bigint();
  let ns = 0n;
  do {
    last = fn(chunks);
    passes++;
    ns = process.hrtime.bigint() - t0;
  } while (Number(ns) / 1e6 < minMs);
  const s = Number(ns) / 1e9;
  return { passes, seconds: s, mb_s: (bytes * passes) / s / 1e6, frames_s: (last.frames * passes) / s, frames: last.frames, body: last.body, pings: last.pings };
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ------------------------------------------------------------------ main
function main() {
  const o = parseArgs(process.argv.slice(2));
  const s = buildStream(Math.round(o.mb * 1024 * 1024), o.seed);
  const bytes = s.stream.length;
  const say = (line) => {
    if (!o.json) process.stdout.write(line + '\n');
  };
  const sendBytes = s.units.filter((u) => u.frame && u.bytes[0] === 0x53 && u.bytes[1] === 0x45).reduce((a, u) => a + u.bytes.length, 0);
  say(`parser: ${(bytes / 1048576).toFixed(2)} MiB stream, ${s.frames} frames (${Object.entries(s.counts).map(([k, v]) => `${k} ${v}`).join(', ')}), ` +
    `${s.eols} heart-beat EOLs; SEND frames are ${((100 * sendBytes) / bytes).toFixed(1)}% of the bytes; ${o.rounds} rounds, >= ${o.minMs} ms per measurement; MB = 10^6 bytes`);
  const out = {
    bench: 'parser', node: process.version, stream_bytes: bytes, frames_generated: s.frames, heart_beat_eols: s.eols, commands: s.counts,
    rounds: o.rounds, min_ms: o.minMs, seed: o.seed, chunkings: {}, ok: true,
  };
  for (const ch of chunkings(s, o.seed)) {
    const v = verify(ch.chunks);
    const rounds = { stompede: [], stompjs: [] };
    // warm-up (JIT), then interleaved rounds, alternating which parser goes first
    for (const name of Object.keys(PARSERS)) measure(PARSERS[name], ch.chunks, bytes, Math.min(o.minMs, 200));
    let counted = null;
    for (let r = 0; r < o.rounds; r++) {
      const order = r % 2 ? ['stompjs', 'stompede'] : ['stompede', 'stompjs'];
      for (const name of order) {
        const m = measure(PARSERS[name], ch.chunks, bytes, o.minMs);
        rounds[name].push(m);
        counted ??= {};
        counted[name] = { frames: m.frames, body_bytes: m.body, pings: m.pings };
      }
    }
    const sum = (name) => ({
      mb_s: Math.round(median(rounds[name].map((m) => m.mb_s)) * 10) / 10,
      mb_s_min: Math.round(Math.min(...rounds[name].map((m) => m.mb_s)) * 10) / 10,
      mb_s_max: Math.round(Math.max(...rounds[name].map((m) => m.mb_s)) * 10) / 10,
      frames_s: Math.round(median(rounds[name].map((m) => m.frames_s))),
      frames: counted[name].frames,
      body_bytes: counted[name].body_bytes,
      passes: rounds[name].map((m) => m.passes),
    });
    const a = sum('stompede');
    const b = sum('stompjs');
    const framesEqual = a.frames === b.frames && a.frames === s.frames && a.body_bytes === b.body_bytes && v.identical;
    const pingsOk = counted.stompjs.pings === s.lfs;
    if (!framesEqual) out.ok = false;
    const ratio = Math.round((a.mb_s / b.mb_s) * 100) / 100;
    out.chunkings[ch.name] = { desc: ch.desc, chunks: ch.chunks.length, stompede: a, stompjs: b, ratio, frames_equal: framesEqual, verify: v, stompjs_pings: counted.stompjs.pings, expected_pings: s.lfs, pings_ok: pingsOk };
    const f = (x) => Math.round(x).toLocaleString('en-US');
    say(`  ${ch.name.padEnd(11)} (${ch.desc}, ${ch.chunks.length} chunks)`);
    say(`    stompede ${a.mb_s.toFixed(1).padStart(8)} MB/s ${f(a.frames_s).padStart(11)} frames/s  [${a.mb_s_min}-${a.mb_s_max} MB/s]`);
    say(`    stompjs  ${b.mb_s.toFixed(1).padStart(8)} MB/s ${f(b.frames_s).padStart(11)} frames/s  [${b.mb_s_min}-${b.mb_s_max} MB/s]`);
    say(`    ratio stompede/stompjs ${ratio}x; frames counted: stompede ${a.frames}, stompjs ${b.frames}, generated ${s.frames} -> ${framesEqual ? 'EQUAL' : 'MISMATCH'}` +
      (v.identical ? ' (same frames in the same order)' : ` first difference at #${v.firstDiff?.index}: ${v.firstDiff?.stompede} vs ${v.firstDiff?.stompjs}`) +
      `; stompjs pings ${counted.stompjs.pings}/${s.lfs}`);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
  if (!out.ok) process.exitCode = 1;
}

try {
  main();
} catch (err) {
  process.stderr.write(`parser bench failed: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
}
