// What a broker allocates per message, by allocation site: a sampling heap profile that counts
// objects the GC has already collected too (V8's HeapProfiler.startSampling with
// includeObjectsCollectedByMajorGC/MinorGC), which is what per-message garbage is.
//
// As a preload, in the broker (no code change in it):
//   HEAP_SAMPLE_OUT=/tmp/hs.json HEAP_SAMPLE_FROM_S=4 HEAP_SAMPLE_TO_S=9 \
//     node --import ./bench/heap-sample.mjs services/broker/dist/main.js
// samples from 4 s to 9 s after start (after start-up and warm-up) and writes the profile.
// Then, with the messages published in that window:
//   node bench/heap-sample.mjs summarize /tmp/hs.json --messages 5000 [--top 25] [--callers NAME]
// prints bytes per message by allocating function, or (--callers) the call paths into NAME.
import { Session } from 'node:inspector';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SAMPLING_INTERVAL_BYTES = 1024;

function sampleFromEnv() {
  const out = process.env['HEAP_SAMPLE_OUT'];
  if (!out) return;
  const fromMs = Number(process.env['HEAP_SAMPLE_FROM_S'] ?? 4) * 1000;
  const toMs = Number(process.env['HEAP_SAMPLE_TO_S'] ?? 9) * 1000;
  const session = new Session();
  session.connect();
  const post = (method, params = {}) => new Promise((resolve, reject) => session.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
  setTimeout(async () => {
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', { samplingInterval: SAMPLING_INTERVAL_BYTES, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    setTimeout(async () => {
      const { profile } = await post('HeapProfiler.stopSampling');
      writeFileSync(out, JSON.stringify(profile));
    }, toMs - fromMs).unref();
  }, fromMs).unref();
}

const frameName = (f) => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(libs|services|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;

function summarize(argv) {
  const { values: o, positionals } = parseArgs({ args: argv, allowPositionals: true, options: {
    messages: { type: 'string' }, top: { type: 'string', default: '25' }, callers: { type: 'string' } } });
  if (positionals.length !== 1 || !(Number(o.messages) > 0)) throw new Error('usage: node bench/heap-sample.mjs summarize PROFILE.json --messages N [--top K] [--callers NAME]');
  const messages = Number(o.messages);
  const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
  const bytes = new Map();
  let total = 0;
  const walk = (node, stack) => {
    const name = frameName(node.callFrame);
    const here = [...stack, name];
    total += node.selfSize;
    if (node.selfSize > 0) {
      const key = o.callers === undefined ? name : name.startsWith(`${o.callers} `) ? here.slice(-4, -1).join(' ← ') : undefined;
      if (key !== undefined) bytes.set(key, (bytes.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, here);
  };
  walk(profile.head, []);
  console.log(`${(total / messages).toFixed(0)} B allocated per message (${(total / 1024).toFixed(0)} KB over ${messages} messages)`);
  for (const [key, b] of [...bytes].sort((x, y) => y[1] - x[1]).slice(0, Number(o.top))) console.log(`${(b / messages).toFixed(0).padStart(7)} B/msg  ${key}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [sub, ...rest] = process.argv.slice(2);
  if (sub !== 'summarize') {
    process.stderr.write('usage: node bench/heap-sample.mjs summarize PROFILE.json --messages N [--top K] [--callers NAME]\n(as a preload: see the header of this file)\n');
    process.exit(2);
  }
  summarize(rest);
} else {
  sampleFromEnv();
}
