// Black-box assertions shared by all the test files: the ERROR-then-close that ends a refused frame
// (on a connection the test holds, or on a fresh one opened for the purpose), and polling until a
// condition holds.
import assert from 'node:assert/strict';
import type { BrokerHandle } from './broker-process.js';
import { bodyText, delay, frame, header, RawClient, type RawFrame, type TransportKind } from './raw-client.js';

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

export interface Refusal {
  /** Transport of the fresh connection (default tcp). */
  readonly kind?: TransportKind;
  /** CONNECT headers (RawClient.connect adds its 1.2 defaults), or false to send the bytes as the very first thing. */
  readonly connect?: Record<string, string> | false;
  /** Runs after CONNECT, before the refused bytes (e.g. frames whose receipts it awaits). */
  readonly setup?: (c: RawClient) => Promise<void>;
  /** The receipt header of the refused frame: the ERROR must carry it as receipt-id (none when undefined). */
  readonly receipt?: string;
}

/**
 * On a fresh connection: CONNECT (unless `connect` is false), `setup`, then `bytes`, which the broker
 * must refuse with ERROR `message` and close (expectErrorThenClose). The ERROR must carry the refused
 * frame's receipt-id and be the only answer to `bytes`. Returns the ERROR.
 */
export async function refused(
  broker: BrokerHandle,
  bytes: Buffer | string | ((c: RawClient) => Buffer),
  message: string,
  options: Refusal = {},
): Promise<RawFrame> {
  const c = await RawClient.open(options.kind ?? 'tcp', broker);
  try {
    if (options.connect !== false) await c.connect(options.connect);
    await options.setup?.(c);
    const before = c.frames.length;
    c.send(typeof bytes === 'function' ? bytes(c) : bytes);
    const e = await expectErrorThenClose(c, message);
    assert.equal(header(e, 'receipt-id'), options.receipt, 'receipt-id of the refused frame');
    assert.deepEqual(c.frames.slice(before).map((f) => f.command), ['ERROR'], 'nothing but the ERROR answers the frame (no RECEIPT)');
    return e;
  } finally {
    c.close();
  }
}

/** refused() for one frame over TCP: `command` with `headers` (plus `receipt:<receipt>` when given). */
export function expectRefused(
  broker: BrokerHandle,
  command: string,
  headers: Record<string, string>,
  message: string,
  options: { receipt?: string; body?: string; connect?: Record<string, string> } = {},
): Promise<RawFrame> {
  const all = options.receipt === undefined ? headers : { ...headers, receipt: options.receipt };
  return refused(broker, frame(command, all, options.body ?? ''), message, { connect: options.connect, receipt: options.receipt });
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
