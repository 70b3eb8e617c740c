// Shared pieces of the checklist conformance tests (rules #1-#27): raw clients over either
// transport, the "ERROR then close" check, STOMP 1.2 header decoding of wire values, /metrics and
// /proc readings, and polling.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { BrokerHandle } from './broker-process.js';
import { bodyText, delay, frame, header, RawClient, type RawFrame } from './raw-client.js';

export type TransportKind = 'tcp' | 'ws';
export const TRANSPORTS: readonly TransportKind[] = ['tcp', 'ws'];

/** A raw client over `kind`, not yet connected. */
export function openRaw(broker: BrokerHandle, kind: TransportKind): Promise<RawClient> {
  return kind === 'tcp' ? RawClient.tcp(broker.tcpPort) : RawClient.ws(broker.wsUrl);
}

/** A raw client over `kind` that went through CONNECT (1.2 unless `headers` say otherwise). */
export async function connectRaw(broker: BrokerHandle, kind: TransportKind, headers: Record<string, string> = {}): Promise<RawClient> {
  const c = await openRaw(broker, kind);
  await c.connect(headers);
  return c;
}

/** A connected raw client subscribed (with a receipt, so the subscription is live) to `destination`. */
export async function subscriber(
  broker: BrokerHandle,
  kind: TransportKind,
  destination: string,
  extra: Record<string, string> = {},
  connectHeaders: Record<string, string> = {},
): Promise<RawClient> {
  const c = await connectRaw(broker, kind, connectHeaders);
  await c.sendWithReceipt('SUBSCRIBE', { id: 'sub-0', destination, ...extra });
  return c;
}

let counter = 0;
/** A destination name no other test uses. */
export function unique(prefix: string): string {
  return `${prefix}${++counter}-${process.pid}`;
}

/** All values of header `name`, in wire order (still escaped). */
export function headerAll(f: RawFrame, name: string): string[] {
  return f.headers.filter(([k]) => k === name).map(([, v]) => v);
}

/** Decodes a STOMP 1.2 header name or value as it came on the wire; throws on an undefined escape. */
export function unescape12(raw: string): string {
  return raw.replace(/\\(.?)/gs, (_, c: string) => {
    switch (c) {
      case 'r': return '\r';
      case 'n': return '\n';
      case 'c': return ':';
      case '\\': return '\\';
      default: throw new Error(`undefined escape \\${c} in ${JSON.stringify(raw)}`);
    }
  });
}

/**
 * Waits for an ERROR with `message`, checks the headers every ERROR carries (message, text/plain
 * content-type, content-length matching the body), that the connection is closed afterwards and that
 * nothing followed the ERROR. Returns the ERROR.
 */
export async function expectErrorThenClose(c: RawClient, message: string, timeoutMs = 10_000): Promise<RawFrame> {
  const e = await c.waitForCommand('ERROR', timeoutMs);
  assert.equal(header(e, 'message'), message, `ERROR body: ${bodyText(e)}`);
  assert.match(header(e, 'content-type') ?? '', /^text\/plain(;|$)/);
  assert.equal(header(e, 'content-length'), String(e.body.length));
  assert.ok(e.body.length > 0, 'ERROR explains itself in the body');
  await c.waitClosed(timeoutMs);
  assert.equal(c.frames.at(-1), e, 'ERROR is the last frame before the close');
  return e;
}

/** Sends `bytes` on a fresh client over `kind` after CONNECT (unless `connect` is false) and expects ERROR + close. */
export async function refusedAfter(
  broker: BrokerHandle,
  kind: TransportKind,
  bytes: Buffer | string,
  message: string,
  connect: Record<string, string> | false = {},
): Promise<RawFrame> {
  const c = await openRaw(broker, kind);
  try {
    if (connect !== false) await c.connect(connect);
    c.send(bytes);
    return await expectErrorThenClose(c, message);
  } finally {
    c.close();
  }
}

/** The MESSAGE `sub` received (or will receive) with header `x-tag:<tag>`. */
export function messageTagged(sub: RawClient, tag: string, timeoutMs = 5000): Promise<RawFrame> {
  return sub.waitFor((f) => f.command === 'MESSAGE' && header(f, 'x-tag') === tag, timeoutMs);
}

/** `frame()` with every LF of the head replaced by `eol` (e.g. CRLF). */
export function frameWithEol(eol: string, command: string, headers: [string, string][], body: string | Uint8Array = ''): Buffer {
  const head = command + eol + headers.map(([k, v]) => `${k}:${v}${eol}`).join('') + eol;
  return Buffer.concat([Buffer.from(head), Buffer.from(body), Buffer.from([0])]);
}

/** Text of /metrics. */
export async function metricsText(broker: BrokerHandle): Promise<string> {
  return (await fetch(`${broker.httpUrl}/metrics`)).text();
}

/** Value of an unlabelled metric, or undefined when it is not exported. */
export function metricValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** Open file descriptors of a process (Linux /proc). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Polls `check` until it returns true; fails with `describe()` after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, describe: () => string | Promise<string>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) assert.fail(`condition not met within ${timeoutMs} ms: ${await describe()}`);
    await delay(50);
  }
}

export { bodyText, delay, frame, header, RawClient, type RawFrame };
