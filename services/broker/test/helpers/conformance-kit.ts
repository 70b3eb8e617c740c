// What the black-box tests do with raw clients (raw-client.ts), in the conformance tests and the
// robustness tests alike: destinations no other test uses, a CONNECT sent exactly as given,
// publishing and waiting for MESSAGE frames, barriers that prove nothing else is on its way,
// acknowledging, and losing a connection without DISCONNECT.
import assert from 'node:assert/strict';
import type { BrokerHandle } from './broker-process.js';
import { eventually } from './expect.js';
import { metric } from './metrics.js';
import { bodyText, frame, header, type RawClient, type RawFrame } from './raw-client.js';

let counter = 0;
/** A destination name no other test uses. */
export function unique(prefix: string): string {
  return `${prefix}${++counter}-${process.pid}`;
}

/** Sends CONNECT with exactly `headers` (none of RawClient.connect's defaults). */
export function sendConnect(c: RawClient, headers: Record<string, string> | [string, string][] = {}): void {
  c.send(frame('CONNECT', headers));
}

/** Sends CONNECT with exactly `headers` and waits for CONNECTED. */
export async function connectExactly(c: RawClient, headers: Record<string, string> | [string, string][]): Promise<RawFrame> {
  sendConnect(c, headers);
  const f = await c.next();
  assert.equal(f.command, 'CONNECTED', `expected CONNECTED, got ${f.command}: ${header(f, 'message')} ${bodyText(f)}`);
  return f;
}

/** MESSAGE frames received so far, optionally only those of one subscription id (as on the wire). */
export function messages(c: RawClient, subscription?: string): RawFrame[] {
  return c.frames.filter((f) => f.command === 'MESSAGE' && (subscription === undefined || header(f, 'subscription') === subscription));
}

/** Waits until `c` has received at least `n` MESSAGE frames (of `subscription`, if given); returns them all. */
export async function waitMessages(c: RawClient, n: number, subscription?: string, timeoutMs = 5000): Promise<RawFrame[]> {
  try {
    await c.waitFor(() => messages(c, subscription).length >= n, timeoutMs);
  } catch (err) {
    const got = messages(c, subscription).map(bodyText);
    throw new Error(`wanted ${n} MESSAGE frames${subscription === undefined ? '' : ` for ${subscription}`}, got ${got.length} ${JSON.stringify(got)}: ${(err as Error).message}`);
  }
  return messages(c, subscription);
}

export function bodies(frames: readonly RawFrame[]): string[] {
  return frames.map(bodyText);
}

/** The MESSAGE `sub` received (or will receive) with header `x-tag:<tag>`. */
export function messageTagged(sub: RawClient, tag: string, timeoutMs = 5000): Promise<RawFrame> {
  return sub.waitFor((f) => f.command === 'MESSAGE' && header(f, 'x-tag') === tag, timeoutMs);
}

/** Sends SENDs with the given bodies in one write, the last with a receipt, and waits for it. */
export async function sendAll(c: RawClient, destination: string, bodyList: readonly string[], headers: Record<string, string> = {}): Promise<void> {
  const head = bodyList.slice(0, -1).map((b) => frame('SEND', { destination, ...headers }, b));
  c.send(Buffer.concat(head));
  await c.sendWithReceipt('SEND', { destination, ...headers }, bodyList.at(-1)!);
}

let barriers = 0;

/**
 * Publishes a marker message through `pub` to `destination` and waits until `sub` receives it (on
 * `subscription`, if given). Everything published to that destination before the marker reaches the
 * subscription before it, so what `sub` got before the marker is all it will ever get from earlier
 * publishes. Returns the MESSAGE frames of `subscription` (all if undefined) that came before it.
 */
export async function barrier(pub: RawClient, sub: RawClient, destination: string, subscription?: string): Promise<RawFrame[]> {
  const mark = `barrier-${++barriers}`;
  await pub.sendWithReceipt('SEND', { destination, 'x-barrier': mark }, mark);
  const m = await sub.waitFor((f) => f.command === 'MESSAGE' && header(f, 'x-barrier') === mark);
  return sub.frames
    .slice(0, sub.frames.indexOf(m))
    .filter((f) => f.command === 'MESSAGE' && header(f, 'x-barrier') === undefined)
    .filter((f) => subscription === undefined || header(f, 'subscription') === subscription);
}

/**
 * Subscribes the connected client `c` to `destination` (auto ack, subscription `id`) and returns what
 * it receives before a barrier: all that a queue holds now; nothing of a topic's earlier messages.
 */
export async function drain(c: RawClient, destination: string, id = 'd'): Promise<RawFrame[]> {
  await c.sendWithReceipt('SUBSCRIBE', { id, destination });
  return barrier(c, c, destination, id);
}

/**
 * Makes the connected client `c` a consumer of `queue` in `ack` mode (subscription id `c`) that has
 * received `bodyList`, published by itself. Returns `c`.
 */
export async function consumerWith(c: RawClient, queue: string, ack: string, bodyList: readonly string[]): Promise<RawClient> {
  await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: queue, ack });
  await sendAll(c, queue, bodyList);
  assert.deepEqual(bodies(await waitMessages(c, bodyList.length, 'c')), bodyList);
  return c;
}

/** ACKs (or NACKs) a MESSAGE by its `ack` header (STOMP 1.2) and waits for the RECEIPT. */
export function settle(c: RawClient, m: RawFrame, command: 'ACK' | 'NACK' = 'ACK', extra: Record<string, string> = {}): Promise<RawFrame> {
  const id = header(m, 'ack');
  assert.ok(id !== undefined, 'MESSAGE has an ack header');
  return c.sendWithReceipt(command, { id, ...extra });
}

/** Resolves with Date.now() at the moment the connection closed. */
export function closeTime(c: RawClient): Promise<number> {
  return c.closedPromise.then(() => Date.now());
}

/**
 * Kills `c` without DISCONNECT (socket destroyed) and waits until the broker has dropped the
 * connection too, so that what it does on a lost connection (requeueing, aborting transactions) is
 * done before the test goes on.
 */
export async function killAndWait(broker: BrokerHandle, c: RawClient): Promise<void> {
  const before = await metric(broker, 'stompede_connections');
  c.close();
  await c.waitClosed();
  let now = before;
  await eventually(
    async () => (now = await metric(broker, 'stompede_connections')) <= before - 1,
    () => `the broker still counts ${now} connections (${before} before the kill)`,
    5000,
  );
}
