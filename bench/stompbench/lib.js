// Vendored unchanged from /work/shared/tools/stompbench/lib.js (2026-11-25 snapshot); see bench/README.md.
'use strict';
// Minimal STOMP 1.2 client pieces for stompbench: framing, a NUL frame scanner, a latency histogram,
// and three transports: 'ws' (the `ws` package + bufferutil), 'raw' (hand-rolled WebSocket over net,
// zero-copy receive path for cheap high-rate clients) and 'tcp' (plain STOMP over TCP).
const net = require('net');
const crypto = require('crypto');

// ---------------------------------------------------------------- time
// process.hrtime() is CLOCK_MONOTONIC: comparable across processes on one machine.
function nowUs() {
  const t = process.hrtime();
  return t[0] * 1e6 + t[1] / 1e3;
}

// ---------------------------------------------------------------- histogram
// Log-linear histogram of microseconds: exact below 1024 us, then 512 sub-buckets per power of two
// (relative error <= 0.2%). 12288 buckets cover up to 2^31 us.
class Hist {
  constructor() { this.c = new Float64Array(12288); this.n = 0; this.sum = 0; this.max = 0; }
  static idx(us) {
    if (!(us > 0)) return 0;
    if (us > 2147483647) us = 2147483647;
    us = Math.floor(us);
    if (us < 1024) return us;
    const msb = 31 - Math.clz32(us);
    const sh = msb - 9;
    return 1024 + (sh - 1) * 512 + (Math.floor(us / 2 ** sh) - 512);
  }
  static val(idx) {
    if (idx < 1024) return idx;
    const sh = ((idx - 1024) >> 9) + 1;
    const mant = ((idx - 1024) & 511) + 512;
    return mant * 2 ** sh + 2 ** (sh - 1);
  }
  record(us) {
    this.c[Hist.idx(us)]++;
    this.n++; this.sum += us;
    if (us > this.max) this.max = us;
  }
  pct(p) {
    if (this.n === 0) return null;
    const target = Math.max(1, Math.ceil((p / 100) * this.n));
    let acc = 0;
    for (let i = 0; i < this.c.length; i++) {
      acc += this.c[i];
      if (acc >= target) return Hist.val(i);
    }
    return this.max;
  }
  merge(o) {
    for (let i = 0; i < this.c.length; i++) this.c[i] += o.c[i];
    this.n += o.n; this.sum += o.sum; if (o.max > this.max) this.max = o.max;
  }
  toSparse() {
    const pairs = [];
    for (let i = 0; i < this.c.length; i++) if (this.c[i]) pairs.push(i, this.c[i]);
    return { pairs, n: this.n, sum: this.sum, max: this.max };
  }
  static fromSparse(s) {
    const h = new Hist();
    for (let i = 0; i < s.pairs.length; i += 2) h.c[s.pairs[i]] = s.pairs[i + 1];
    h.n = s.n; h.sum = s.sum; h.max = s.max;
    return h;
  }
  summaryMs() {
    const r = (v) => (v == null ? null : Math.round(v) / 1000);
    return { n: this.n, p50: r(this.pct(50)), p95: r(this.pct(95)), p99: r(this.pct(99)), max: r(this.max), mean: this.n ? r(this.sum / this.n) : null };
  }
}

// ---------------------------------------------------------------- STOMP framing
function escHeader(v) {
  return String(v).replace(/\\/g, '\\\\').replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/:/g, '\\c');
}
function unescHeader(v) {
  if (v.indexOf('\\') < 0) return v;
  return v.replace(/\\(.)/g, (m, c) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c === 'c' ? ':' : c === '\\' ? '\\' : m));
}
// Encode a frame. CONNECT frames are not escaped (STOMP 1.2 section "Value Encoding").
function encodeFrame(command, headers, body) {
  let s = command + '\n';
  const esc = command === 'CONNECT' || command === 'CONNECTED' ? (v) => String(v) : escHeader;
  for (const k of Object.keys(headers || {})) {
    if (headers[k] === undefined || headers[k] === null) continue;
    s += k + ':' + esc(headers[k]) + '\n';
  }
  s += '\n';
  const head = Buffer.from(s, 'utf8');
  const b = body == null ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(String(body), 'utf8');
  const out = Buffer.allocUnsafe(head.length + b.length + 1);
  head.copy(out, 0);
  b.copy(out, head.length);
  out[out.length - 1] = 0;
  return out;
}
// Slow-path parse of one frame (buf[s..e), e is the index of the terminating NUL).
function parseFrame(buf, s, e) {
  while (s < e && (buf[s] === 10 || buf[s] === 13)) s++;
  let nl = buf.indexOf(10, s);
  if (nl < 0 || nl > e) nl = e;
  let command = buf.toString('utf8', s, nl).replace(/\r$/, '');
  const headers = {};
  let p = nl + 1;
  while (p < e) {
    let q = buf.indexOf(10, p);
    if (q < 0 || q > e) q = e;
    let line = buf.toString('utf8', p, q);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    p = q + 1;
    if (line === '') break;
    const c = line.indexOf(':');
    const k = unescHeader(c < 0 ? line : line.slice(0, c));
    if (!(k in headers)) headers[k] = c < 0 ? '' : unescHeader(line.slice(c + 1));
  }
  return { command, headers, body: p <= e ? buf.subarray(Math.min(p, e), e) : Buffer.alloc(0) };
}

// Splits a byte stream into NUL-terminated frames with no copy unless a frame spans chunks.
// Bodies sent by stompbench never contain NUL, so NUL splitting is exact for its own traffic.
class Scanner {
  constructor(onFrame) { this.onFrame = onFrame; this.pend = null; this.pendLen = 0; }
  feed(buf, s, e) {
    let i = s;
    while (i < e) {
      const z = buf.indexOf(0, i);
      if (z < 0 || z >= e) {
        const part = buf.subarray(i, e);
        if (this.pend) { this.pend.push(part); this.pendLen += part.length; } else { this.pend = [Buffer.from(part)]; this.pendLen = part.length; }
        if (this.pend.length > 1 && this.pendLen < 65536) { // keep it compact, but copy at most once per chunk
          this.pend = [Buffer.concat(this.pend, this.pendLen)];
        }
        return;
      }
      if (this.pend) {
        this.pend.push(buf.subarray(i, z));
        const f = Buffer.concat(this.pend, this.pendLen + (z - i));
        this.pend = null; this.pendLen = 0;
        this.onFrame(f, 0, f.length);
      } else if (z > i) {
        this.onFrame(buf, i, z);
      }
      i = z + 1;
    }
  }
}

// ---------------------------------------------------------------- transports
// Each returns Promise<{write(buf), writev(bufs), close(), destroy(), cork(), uncork(), socket}>.
// onChunk(buf, s, e) receives raw STOMP bytes; onClose(err) once.
function parseUrl(u) {
  const x = new URL(u);
  return { host: x.hostname, port: Number(x.port || (x.protocol === 'wss:' ? 443 : 80)), path: (x.pathname || '/') + (x.search || ''), href: u };
}

let WSClass = null;
function connectWs(o, onChunk, onClose) {
  if (!WSClass) WSClass = require('ws');
  return new Promise((resolve, reject) => {
    const ws = new WSClass(o.url, o.subprotocols, {
      perMessageDeflate: false, skipUTF8Validation: true, maxPayload: 256 * 1024 * 1024,
      handshakeTimeout: o.connectTimeoutMs,
    });
    let opened = false;
    ws.on('open', () => {
      opened = true;
      ws._socket.setNoDelay(true);
      resolve({
        socket: ws._socket,
        write: (b) => ws.send(b, { binary: false }),
        writev: (bs) => { ws._socket.cork(); for (const b of bs) ws.send(b, { binary: false }); process.nextTick(() => ws._socket && ws._socket.uncork()); },
        cork: () => ws._socket && ws._socket.cork(),
        uncork: () => ws._socket && ws._socket.uncork(),
        close: () => { try { ws.close(1000); } catch (e) { /* ignore */ } },
        destroy: () => { try { ws.terminate(); } catch (e) { /* ignore */ } },
      });
    });
    ws.on('message', (data) => {
      if (Array.isArray(data)) data = Buffer.concat(data);
      else if (!Buffer.isBuffer(data)) data = Buffer.from(data);
      onChunk(data, 0, data.length);
    });
    ws.on('error', (err) => { if (!opened) reject(err); });
    ws.on('close', (code, reason) => onClose && onClose(opened ? null : new Error('ws closed ' + code + ' ' + reason)));
  });
}

function connectTcp(o, onChunk, onClose) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: o.host, port: o.port });
    sock.setNoDelay(true);
    let opened = false;
    const t = setTimeout(() => { if (!opened) { sock.destroy(); reject(new Error('tcp connect timeout')); } }, o.connectTimeoutMs);
    sock.on('connect', () => {
      opened = true; clearTimeout(t);
      resolve({
        socket: sock,
        write: (b) => sock.write(b),
        writev: (bs) => sock.write(bs.length === 1 ? bs[0] : Buffer.concat(bs)),
        cork: () => sock.cork(), uncork: () => sock.uncork(),
        close: () => sock.end(), destroy: () => sock.destroy(),
      });
    });
    sock.on('data', (c) => onChunk(c, 0, c.length));
    sock.on('error', (err) => { if (!opened) { clearTimeout(t); reject(err); } });
    sock.on('close', () => onClose && onClose(null));
  });
}

// Hand-rolled RFC 6455 client. Sends text frames with an all-zero masking key (valid framing; the
// payload is then unchanged, so no XOR pass), parses unmasked server frames and hands payload
// slices to onChunk without copying.
function wsHeader(len) {
  let h;
  if (len < 126) { h = Buffer.allocUnsafe(6); h[0] = 0x81; h[1] = 0x80 | len; h.writeUInt32BE(0, 2); }
  else if (len < 65536) { h = Buffer.allocUnsafe(8); h[0] = 0x81; h[1] = 0x80 | 126; h.writeUInt16BE(len, 2); h.writeUInt32BE(0, 4); }
  else { h = Buffer.allocUnsafe(14); h[0] = 0x81; h[1] = 0x80 | 127; h.writeUInt32BE(Math.floor(len / 2 ** 32), 2); h.writeUInt32BE(len >>> 0, 6); h.writeUInt32BE(0, 10); }
  return h;
}
function wsControl(opcode, payload) {
  const p = payload || Buffer.alloc(0);
  const h = Buffer.alloc(6 + p.length);
  h[0] = 0x80 | opcode; h[1] = 0x80 | p.length; // control payload <= 125, zero mask
  p.copy(h, 6);
  return h;
}
function connectRaw(o, onChunk, onClose) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: o.host, port: o.port });
    sock.setNoDelay(true);
    const key = crypto.randomBytes(16).toString('base64');
    const expectAccept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    let opened = false; let hs = Buffer.alloc(0);
    const t = setTimeout(() => { if (!opened) { sock.destroy(); reject(new Error('ws handshake timeout')); } }, o.connectTimeoutMs);
    // frame parser state
    const hb = Buffer.alloc(14); let hn = 0; let need = 2; let rem = 0; let opcode = 0; let ctrl = null;
    const api = {
      socket: sock,
      write: (b) => { sock.cork(); sock.write(wsHeader(b.length)); sock.write(b); sock.uncork(); },
      writev: (bs) => { const parts = []; for (const b of bs) { parts.push(wsHeader(b.length), b); } sock.write(Buffer.concat(parts)); },
      cork: () => sock.cork(), uncork: () => sock.uncork(),
      close: () => { try { sock.write(wsControl(8, Buffer.from([0x03, 0xe8]))); } catch (e) { /* ignore */ } sock.end(); },
      destroy: () => sock.destroy(),
    };
    function handleControl() {
      const p = ctrl.length ? Buffer.concat(ctrl) : Buffer.alloc(0);
      if (opcode === 9) sock.write(wsControl(10, p));
      else if (opcode === 8) { sock.end(); }
      ctrl = null;
    }
    function frames(c, i) {
      const n = c.length;
      while (i < n) {
        if (rem > 0) {
          const take = Math.min(rem, n - i);
          if (ctrl) ctrl.push(c.subarray(i, i + take)); else onChunk(c, i, i + take);
          i += take; rem -= take;
          if (rem === 0 && ctrl) handleControl();
          continue;
        }
        // header bytes
        hb[hn++] = c[i++];
        if (hn === 2) {
          const l7 = hb[1] & 0x7f;
          if (hb[1] & 0x80) { sock.destroy(new Error('masked server frame')); return; }
          need = 2 + (l7 === 126 ? 2 : l7 === 127 ? 8 : 0);
        }
        if (hn >= 2 && hn === need) {
          const l7 = hb[1] & 0x7f;
          const len = l7 < 126 ? l7 : l7 === 126 ? hb.readUInt16BE(2) : hb.readUInt32BE(2) * 2 ** 32 + hb.readUInt32BE(6);
          const op = hb[0] & 0x0f;
          if (op >= 8) { opcode = op; ctrl = []; } else if (op !== 0) { opcode = op; }
          hn = 0; need = 2; rem = len;
          if (rem === 0 && ctrl) handleControl();
        }
      }
    }
    sock.on('connect', () => {
      sock.write(`GET ${o.path} HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${o.subprotocols.join(', ')}\r\n\r\n`);
    });
    sock.on('data', (c) => {
      if (opened) return frames(c, 0);
      hs = Buffer.concat([hs, c]);
      const end = hs.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = hs.toString('latin1', 0, end);
      if (!/^HTTP\/1\.1 101/.test(head) || head.toLowerCase().indexOf(expectAccept.toLowerCase()) < 0) {
        clearTimeout(t); sock.destroy(); reject(new Error('ws handshake failed: ' + head.split('\r\n')[0])); return;
      }
      opened = true; clearTimeout(t);
      const rest = hs.subarray(end + 4); hs = null;
      resolve(api);
      if (rest.length) frames(rest, 0);
    });
    sock.on('error', (err) => { if (!opened) { clearTimeout(t); reject(err); } });
    sock.on('close', () => onClose && onClose(null));
  });
}

function connectTransport(o, onChunk, onClose) {
  if (o.transport === 'tcp') return connectTcp(o, onChunk, onClose);
  if (o.transport === 'raw') return connectRaw(o, onChunk, onClose);
  return connectWs(o, onChunk, onClose);
}

// ---------------------------------------------------------------- STOMP connection
class StompConn {
  // o: {transport, url, host, port, path, login, passcode, vhost, subprotocols, connectTimeoutMs}
  constructor(o) {
    this.o = o; this.t = null; this.closed = false; this.errors = 0;
    this.onMessage = null;     // fast path: (buf, s, e) for frames starting with 'M' (MESSAGE)
    this.onReceipt = null;     // (receiptId)
    this.onErrorFrame = null;  // (frame)
    this.waiters = new Map();  // receipt-id -> resolve
    this._connected = null;
    this.scanner = new Scanner((buf, s, e) => this._frame(buf, s, e));
  }
  async connect() {
    this.t = await connectTransport(this.o, (b, s, e) => this.scanner.feed(b, s, e), (err) => this._onClose(err));
    const p = new Promise((res, rej) => { this._connected = { res, rej }; });
    const h = { 'accept-version': '1.2', host: this.o.vhost, 'heart-beat': '0,0' };
    if (this.o.login != null) h.login = this.o.login;
    if (this.o.passcode != null) h.passcode = this.o.passcode;
    this.t.write(encodeFrame('CONNECT', h));
    const timer = setTimeout(() => this._connected && this._connected.rej(new Error('CONNECTED timeout')), this.o.connectTimeoutMs);
    try { await p; } finally { clearTimeout(timer); }
    return this;
  }
  _onClose(err) {
    this.closed = true;
    if (this._connected) this._connected.rej(err || new Error('closed before CONNECTED'));
    for (const [, w] of this.waiters) w.rej(new Error('connection closed'));
    this.waiters.clear();
  }
  _frame(buf, s, e) {
    while (s < e && (buf[s] === 10 || buf[s] === 13)) s++;
    if (s >= e) return;
    if (buf[s] === 0x4d && this.onMessage) { this.onMessage(buf, s, e); return; }
    const f = parseFrame(buf, s, e);
    switch (f.command) {
      case 'CONNECTED':
        if (this._connected) { this.server = f.headers.server; this._connected.res(f); this._connected = null; }
        break;
      case 'RECEIPT': {
        const id = f.headers['receipt-id'];
        const w = this.waiters.get(id);
        if (w) { this.waiters.delete(id); w.res(); } else if (this.onReceipt) this.onReceipt(id);
        break;
      }
      case 'ERROR':
        this.errors++;
        if (this._connected) { this._connected.rej(new Error('ERROR: ' + (f.headers.message || '') + ' ' + f.body.toString().slice(0, 200))); this._connected = null; }
        if (this.onErrorFrame) this.onErrorFrame(f);
        else process.stderr.write(`stompbench: ERROR frame: ${f.headers.message || ''} ${f.body.toString().slice(0, 200)}\n`);
        break;
      case 'MESSAGE':
        if (this.onMessageFrame) this.onMessageFrame(f);
        break;
      default:
        break;
    }
  }
  waitReceipt(id, timeoutMs) {
    return new Promise((res, rej) => {
      const timer = setTimeout(() => { this.waiters.delete(id); rej(new Error('receipt timeout ' + id)); }, timeoutMs || this.o.connectTimeoutMs);
      this.waiters.set(id, { res: () => { clearTimeout(timer); res(); }, rej: (e) => { clearTimeout(timer); rej(e); } });
    });
  }
  async subscribe(destination, id, ack, extra, withReceipt = true) {
    const h = Object.assign({ id: String(id), destination, ack: ack || 'auto' }, extra || {});
    let p = null;
    if (withReceipt) { h.receipt = 'sub-' + id; p = this.waitReceipt(h.receipt); }
    this.t.write(encodeFrame('SUBSCRIBE', h));
    if (p) await p;
  }
  ack(id) { this.t.write(encodeFrame('ACK', { id })); }
  write(buf) { this.t.write(buf); }
  async disconnect(timeoutMs = 2000) {
    if (this.closed || !this.t) return;
    try {
      const p = this.waitReceipt('bye', timeoutMs);
      this.t.write(encodeFrame('DISCONNECT', { receipt: 'bye' }));
      await p;
    } catch (e) { /* ignore */ }
    this.t.close();
  }
  destroy() { if (this.t) this.t.destroy(); }
}

// ---------------------------------------------------------------- message bodies
// Body layout (ASCII, no NUL): 15-digit send time in us (CLOCK_MONOTONIC) ',' 6-char run id ',' then 'x' padding.
const TS_DIGITS = 15;
const MIN_BODY = TS_DIGITS + 1 + 6 + 1;
class SendBuilder {
  constructor(destination, size, runId, extraHeaders) {
    if (size < MIN_BODY) throw new Error('payload size must be >= ' + MIN_BODY);
    let h = 'SEND\ndestination:' + escHeader(destination) + '\ncontent-length:' + size + '\n';
    for (const [k, v] of Object.entries(extraHeaders || {})) h += k + ':' + escHeader(v) + '\n';
    this.head = Buffer.from(h);
    this.size = size;
    const body = Buffer.alloc(size, 'x');
    body.write('0'.repeat(TS_DIGITS) + ',' + runId + ',', 0, 'latin1');
    this.body = body;
  }
  build(receipt) {
    const r = receipt ? Buffer.from('receipt:' + receipt + '\n') : null;
    const hl = this.head.length + (r ? r.length : 0) + 1;
    const out = Buffer.allocUnsafe(hl + this.size + 1);
    this.head.copy(out, 0);
    if (r) r.copy(out, this.head.length);
    out[hl - 1] = 10;
    this.body.copy(out, hl);
    // timestamp digits
    let ts = Math.floor(nowUs());
    for (let k = TS_DIGITS - 1; k >= 0; k--) { out[hl + k] = 48 + (ts % 10); ts = Math.floor(ts / 10); }
    out[out.length - 1] = 0;
    return out;
  }
}

const LFLF = Buffer.from('\n\n');
// Returns the body offset of a MESSAGE frame in buf[s..e), or -1.
function bodyStart(buf, s, e) {
  const i = buf.indexOf(LFLF, s);
  if (i < 0 || i + 2 > e) return -1;
  return i + 2;
}
function readTs(buf, b, e) {
  if (b + TS_DIGITS > e) return -1;
  let ts = 0;
  for (let k = 0; k < TS_DIGITS; k++) {
    const d = buf[b + k] - 48;
    if (d < 0 || d > 9) return -1;
    ts = ts * 10 + d;
  }
  return ts;
}
function runIdMatches(buf, b, e, rid) {
  const o = b + TS_DIGITS + 1;
  if (o + 6 > e) return false;
  for (let k = 0; k < 6; k++) if (buf[o + k] !== rid[k]) return false;
  return true;
}

module.exports = { nowUs, Hist, encodeFrame, parseFrame, Scanner, parseUrl, connectTransport, StompConn, SendBuilder, bodyStart, readTs, runIdMatches, MIN_BODY };
