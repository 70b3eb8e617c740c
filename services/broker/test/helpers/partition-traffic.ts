// Traffic for the partition tests: clients that record what they received and whether the broker
// ever sent them an ERROR or closed them, publishers of numbered bodies on a timer, the checks of a
// numbered sequence (each once, in order), and /metrics readings that give up instead of hanging
// (a node cut from Redis may take its time to answer).
import type { Client } from '@stomp/stompjs';
import type { ReachableNode } from './netns-broker.js';
import { metricValue } from './metrics.js';
import type { PartitionSuite } from './partition.js';
import { bodyText, header, type RawClient, type TransportKind } from './raw-client.js';
import { Inbox, subscribed } from './stompjs.js';

/** A client as its user sees it: what it got, the ERRORs it got, whether it is still connected. */
export interface Watched {
  readonly name: string;
  bodies(): string[];
  errors(): string[];
  connected(): boolean;
}

/** Watches a stompjs client (its own ERROR and close handlers are replaced). */
export function watchStompjs(name: string, c: Client, inbox?: Inbox): Watched {
  const errors: string[] = [];
  let closed = false;
  c.onStompError = (f) => errors.push(`ERROR ${f.headers['message']}: ${f.body}`);
  c.onWebSocketClose = () => (closed = true);
  return { name, bodies: () => inbox?.bodies ?? [], errors: () => errors, connected: () => !closed && c.connected };
}

export function watchRaw(name: string, c: RawClient): Watched {
  return {
    name,
    bodies: () => c.frames.filter((f) => f.command === 'MESSAGE').map(bodyText),
    errors: () => c.frames.filter((f) => f.command === 'ERROR').map((f) => `ERROR ${header(f, 'message')}: ${bodyText(f)}`),
    connected: () => !c.closed,
  };
}

let subSeq = 0;

/** A topic subscriber on `node`: stompjs over WebSocket, or a raw client over TCP; subscribed with a receipt. */
export async function topicSubscriber(p: PartitionSuite, node: ReachableNode, kind: TransportKind, destination: string): Promise<Watched> {
  const name = `${node.nodeId}/${kind === 'ws' ? 'stompjs-ws' : 'raw-tcp'}`;
  if (kind === 'ws') {
    const c = await p.stompjs(node);
    const inbox = new Inbox();
    const w = watchStompjs(name, c, inbox);
    await subscribed(c, destination, inbox.push);
    return w;
  }
  const c = await p.connectRaw(node, 'tcp');
  await c.sendWithReceipt('SUBSCRIBE', { id: `s-${++subSeq}`, destination });
  return watchRaw(name, c);
}

/** How many bodies start with `prefix`. */
export function countOf(w: Watched, prefix: string): number {
  return w.bodies().filter((b) => b.startsWith(prefix)).length;
}

/** Publishes `<prefix><i>` every `everyMs` through `send`, from i = 0, until stop(). */
export class Ticker {
  count = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly prefix: string,
    send: (body: string) => void,
    everyMs = 10,
  ) {
    this.timer = setInterval(() => send(`${prefix}${this.count++}`), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * What is wrong with the messages `<prefix><i>` a subscriber got, when it should have got i = 0 ..
 * n - 1 exactly once each, in order.
 */
export function sequenceProblems(who: string, bodies: readonly string[], prefix: string, n: number): string[] {
  const got = bodies.filter((b) => b.startsWith(prefix) && /^\d+$/.test(b.slice(prefix.length))).map((b) => Number(b.slice(prefix.length)));
  const seen = new Set(got);
  const problems: string[] = [];
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length > 0) problems.push(`${who} lost ${missing.length} of ${n} ${prefix}* messages, e.g. ${missing.slice(0, 8).join(',')}`);
  if (got.length > seen.size) {
    const counts = new Map<number, number>();
    for (const i of got) counts.set(i, (counts.get(i) ?? 0) + 1);
    const dups = [...counts].filter(([, c]) => c > 1).map(([i]) => i);
    problems.push(`${who} got ${got.length - seen.size} duplicate ${prefix}* messages, e.g. ${dups.slice(0, 8).join(',')}`);
  }
  const late = got.map((v, i) => (i > 0 && v < got[i - 1]! ? `${got[i - 1]}->${v}` : '')).filter((x) => x !== '');
  if (late.length > 0) problems.push(`${who} got ${prefix}* out of order ${late.length} times, e.g. ${late.slice(0, 5).join(' ')}`);
  const extra = got.filter((i) => i >= n);
  if (extra.length > 0) problems.push(`${who} got ${extra.length} ${prefix}* messages that were never published`);
  return problems;
}

/** ERRORs and lost connections of clients that should have noticed nothing. */
export function calmProblems(clients: readonly Watched[]): string[] {
  const problems: string[] = [];
  for (const w of clients) {
    if (w.errors().length > 0) problems.push(`${w.name} got ${w.errors().join('; ')}`);
    if (!w.connected()) problems.push(`${w.name} lost its connection`);
  }
  return problems;
}

/** Metrics of one /metrics scrape of a node, or why there are none (absent, or no answer within `timeoutMs`). */
export async function readMetrics(node: ReachableNode, names: readonly string[], timeoutMs = 2000): Promise<(number | string)[]> {
  let text: string;
  try {
    const res = await fetch(`${node.httpUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
  } catch (err) {
    return names.map(() => `no /metrics answer within ${timeoutMs} ms (${(err as Error).message})`);
  }
  return names.map((name) => metricValue(text, name) ?? `${name} absent`);
}

/** One metric of readMetrics(). */
export async function readMetric(node: ReachableNode, name: string, timeoutMs = 2000): Promise<number | string> {
  return (await readMetrics(node, [name], timeoutMs))[0]!;
}

/** The log lines of a node that contain `text`. */
export function logLines(node: ReachableNode, text: string): string[] {
  return node.output().split('\n').filter((l) => l.includes(text));
}
