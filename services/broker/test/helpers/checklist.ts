// Pieces shared by the checklist conformance tests #28-#62 (heart-beats, client frames, server
// frames, implementation-defined points), on top of conformance-kit.ts: a CONNECT sent exactly as
// given, waiting for a number of MESSAGE frames, barriers that prove nothing else is on its way, and
// the time a connection closed.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import { Parser } from '@stomp/stompjs';
import type { BrokerHandle } from './broker-process.js';
import { eventually, metricsText, metricValue } from './conformance-kit.js';
import { bodyText, frame, header, RawClient, type RawFrame } from './raw-client.js';

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

/** A SEND frame (no receipt) to `destination`. */
export function send(c: RawClient, destination: string, body: string, headers: Record<string, string> = {}): void {
  c.send(frame('SEND', { destination, ...headers }, body));
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

/** Resolves with Date.now() at the moment the connection closed. */
export function closeTime(c: RawClient): Promise<number> {
  return c.closedPromise.then(() => Date.now());
}

/** ACKs (or NACKs) a MESSAGE by its `ack` header (STOMP 1.2) and waits for the RECEIPT. */
export function settle(c: RawClient, m: RawFrame, command: 'ACK' | 'NACK' = 'ACK', extra: Record<string, string> = {}): Promise<RawFrame> {
  const id = header(m, 'ack');
  assert.ok(id !== undefined, 'MESSAGE has an ack header');
  return c.sendWithReceipt(command, { id, ...extra });
}

/**
 * A raw STOMP-over-TCP client whose reading can be paused, to play a consumer that stops reading
 * (the kernel buffers fill up, then the broker's). Frames are parsed with stompjs's Parser.
 */
export class PausableTcp {
  readonly frames: RawFrame[] = [];
  readonly closed: Promise<void>;
  private constructor(private readonly socket: Socket) {
    const parser = new Parser(
      (raw) => this.frames.push({ command: raw.command ?? '', headers: raw.headers as [string, string][], body: raw.binaryBody ?? new Uint8Array(0) }),
      () => {},
    );
    socket.on('data', (d: Buffer) => parser.parseChunk(d.buffer.slice(d.byteOffset, d.byteOffset + d.length) as ArrayBuffer));
    socket.on('error', () => {});
    this.closed = once(socket, 'close').then(() => undefined);
  }

  static async open(port: number): Promise<PausableTcp> {
    const socket = tcpConnect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new PausableTcp(socket);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Waits (polling) until a frame matches. */
  async waitFor(pred: (f: RawFrame) => boolean, timeoutMs = 5000): Promise<RawFrame> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find(pred);
      if (f !== undefined) return f;
      if (Date.now() > until) throw new Error(`no matching frame within ${timeoutMs} ms; got ${this.frames.map((x) => x.command).join(',')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Open connections as the broker counts them (/metrics stompede_connections). */
export async function openConnections(broker: BrokerHandle): Promise<number> {
  const n = metricValue(await metricsText(broker), 'stompede_connections');
  assert.ok(n !== undefined, 'stompede_connections is exported');
  return n;
}

/**
 * Kills `c` without DISCONNECT (socket destroyed) and waits until the broker has dropped the
 * connection too, so that what it does on a lost connection (requeueing, aborting transactions) is
 * done before the test goes on.
 */
export async function killAndWait(broker: BrokerHandle, c: RawClient): Promise<void> {
  const before = await openConnections(broker);
  c.close();
  await c.waitClosed();
  let now = before;
  await eventually(
    async () => (now = await openConnections(broker)) <= before - 1,
    () => `the broker still counts ${now} connections (${before} before the kill)`,
    5000,
  );
}
