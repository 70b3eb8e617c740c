// A broker's memory seen from outside through the Chrome DevTools Protocol, so that the production
// broker needs no GC hook: it is started with `node --inspect=127.0.0.1:0` and this module forces a
// full GC (HeapProfiler.collectGarbage), reads process.memoryUsage() (Runtime.evaluate) and takes
// heap snapshots (HeapProfiler.takeHeapSnapshot), which it sums up by class.
import WebSocket from 'ws';

/** V8's --bytecode-old-age default: full collections a function's bytecode survives unused. */
const BYTECODE_OLD_AGE = 5;

/** The inspector's WebSocket URL, from the "Debugger listening on ws://..." line node prints on stderr. */
export function inspectorUrl(stderr) {
  return /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1] ?? null;
}

export class Inspector {
  static open(url) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
      ws.once('open', () => resolve(new Inspector(ws)));
      ws.once('error', reject);
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.nextId = 0;
    this.pending = new Map();
    this.listeners = new Map();
    ws.on('message', (data) => this.onMessage(JSON.parse(data.toString())));
    ws.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('inspector connection closed'));
      this.pending.clear();
    });
  }

  onMessage(m) {
    if (m.id === undefined) {
      this.listeners.get(m.method)?.(m.params);
      return;
    }
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    if (m.error) p.reject(new Error(`${p.method}: ${m.error.message}`));
    else p.resolve(m.result);
  }

  send(method, params = {}) {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * Full collections until V8 has flushed the bytecode of every function not run meanwhile (it
   * does after --bytecode-old-age collections, 5 by default). Without this, code compiled for a
   * step that is over (connecting, subscribing) is dropped at a random later reading, which at a
   * few hundred kilobytes of growth made the heap seem to shrink while the snapshots grew.
   */
  async settle() {
    for (let i = 0; i < BYTECODE_OLD_AGE + 1; i++) await this.send('HeapProfiler.collectGarbage');
  }

  /**
   * process.memoryUsage() after full collections. Two passes: objects with finalizers or weak
   * callbacks are only freed by the collection after the one that found them dead.
   */
  async memoryAfterGc() {
    await this.send('HeapProfiler.collectGarbage');
    await this.send('HeapProfiler.collectGarbage');
    const r = await this.send('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    return JSON.parse(r.result.value);
  }

  /** A heap snapshot (after a full GC, which V8 does first) as the parsed .heapsnapshot JSON. */
  async heapSnapshot() {
    const chunks = [];
    this.listeners.set('HeapProfiler.addHeapSnapshotChunk', (p) => chunks.push(p.chunk));
    try {
      await this.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    } finally {
      this.listeners.delete('HeapProfiler.addHeapSnapshotChunk');
    }
    return JSON.parse(chunks.join(''));
  }

  close() {
    this.ws.close();
  }
}

// ---------------------------------------------------------------------- snapshot by class

const OWNER_KINDS = new Set(['object', 'closure', 'native', 'regexp']);
/** Objects that only hold others: charged to whoever holds them, like backing stores. */
const CONTAINERS = new Set(['Map', 'Set', 'Array', 'Object', 'WeakMap', 'WeakSet']);
const STRING_KINDS = new Set(['string', 'concatenated string', 'sliced string']);
/** How far up a chain of backing stores and containers a node is followed to the object that owns it. */
const OWNER_HOPS = 3;

/**
 * Self size and count per class, the way DevTools' Summary view groups them (constructor name for
 * objects, "(string)", "(closure) name", ...), except that a backing store, container or string kept
 * alive by exactly one object is labelled with that owner ("(string) ← Subscription.id", "(array) ←
 * Map.table ← SubscriptionTable.byId"): a Map's hash table or a duplicated name is then charged to
 * whoever holds it. Returns Map<label, { count, bytes }>.
 */
export function classTotals(snapshot) {
  const { meta } = snapshot.snapshot;
  const { nodes, edges, strings } = snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const nType = meta.node_fields.indexOf('type');
  const nName = meta.node_fields.indexOf('name');
  const nSize = meta.node_fields.indexOf('self_size');
  const nEdges = meta.node_fields.indexOf('edge_count');
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const nodeTypes = meta.node_types[nType];
  const edgeTypes = meta.edge_types[eType];
  const count = nodes.length / nf;
  const kind = (i) => nodeTypes[nodes[i * nf + nType]];

  // The sole strong retainer of every node (-1: none or several), and the edge's name.
  const owner = new Int32Array(count).fill(-1);
  const ownerEdge = new Int32Array(count).fill(-1);
  const retainers = new Uint32Array(count);
  for (let i = 0, e = 0; i < count; i++) {
    const n = nodes[i * nf + nEdges];
    for (let k = 0; k < n; k++, e += ef) {
      const t = edgeTypes[edges[e + eType]];
      if (t === 'weak' || t === 'shortcut') continue;
      const to = edges[e + eTo] / nf;
      if (retainers[to]++ === 0) {
        owner[to] = i;
        ownerEdge[to] = e;
      } else owner[to] = -1;
    }
  }
  const edgeLabel = (e) => {
    const t = edgeTypes[edges[e + eType]];
    const v = edges[e + eName];
    return t === 'element' || t === 'hidden' ? `[]` : strings[v];
  };
  const base = (i) => {
    const k = kind(i);
    const name = strings[nodes[i * nf + nName]];
    if (k === 'object' || k === 'native') return name;
    if (k === 'closure') return `(closure) ${name || 'anonymous'}`;
    if (STRING_KINDS.has(k)) return '(string)';
    if (k === 'array') return name || '(array)';
    if (k === 'hidden') return `(system) ${name.replace(/^system \/ /, '')}`;
    if (k === 'code') return '(compiled code)';
    if (k === 'number') return '(heap number)';
    return `(${k})`;
  };
  // An object of its own class is its own label; anything else is followed up to such an owner.
  const owns = (i) => OWNER_KINDS.has(kind(i)) && !CONTAINERS.has(base(i));
  const label = (i) => {
    const k = kind(i);
    if (k === 'object shape' || k === 'code') return base(i);
    let text = base(i);
    for (let cur = i, hop = 0; hop < OWNER_HOPS && !owns(cur); hop++) {
      const o = owner[cur];
      if (o < 0) return hop === 0 && STRING_KINDS.has(k) ? `${text} (shared)` : text;
      const via = edgeLabel(ownerEdge[cur]);
      text += ` ← ${base(o)}${!OWNER_KINDS.has(kind(o)) ? '' : via === '[]' ? '[]' : `.${via}`}`;
      cur = o;
    }
    return text;
  };
  const totals = new Map();
  for (let i = 0; i < count; i++) {
    const bytes = nodes[i * nf + nSize];
    if (bytes === 0) continue;
    const l = label(i);
    const t = totals.get(l);
    if (t === undefined) totals.set(l, { count: 1, bytes });
    else {
      t.count++;
      t.bytes += bytes;
    }
  }
  return totals;
}

/** `after` − `before`, largest growth first: [{ label, count, bytes }]. */
export function classDelta(before, after) {
  const out = [];
  for (const [label, a] of after) {
    const b = before.get(label) ?? { count: 0, bytes: 0 };
    out.push({ label, count: a.count - b.count, bytes: a.bytes - b.bytes });
  }
  for (const [label, b] of before) if (!after.has(label)) out.push({ label, count: -b.count, bytes: -b.bytes });
  return out.sort((x, y) => y.bytes - x.bytes);
}
