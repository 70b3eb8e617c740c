// Small black-box assertions shared by the destination/queue/ack tests: a frame the broker must
// refuse, a metric's value, and the ERROR frames a stompjs client received.
import assert from 'node:assert/strict';
import type { Client, IFrame } from '@stomp/stompjs';
import { bodyText, frame, header, RawClient, type RawFrame } from './raw-client.js';

/**
 * Connects a raw TCP client, sends one frame (with `receipt:<receipt>` when given), and checks the
 * broker answers with ERROR `message` and then closes the connection. Returns the ERROR.
 */
export async function expectRefused(
  tcpPort: number,
  command: string,
  headers: Record<string, string>,
  message: string,
  options: { receipt?: string; body?: string; connect?: Record<string, string> } = {},
): Promise<RawFrame> {
  const c = await RawClient.tcp(tcpPort);
  try {
    await c.connect(options.connect);
    const all = options.receipt === undefined ? headers : { ...headers, receipt: options.receipt };
    c.send(frame(command, all, options.body ?? ''));
    const e = await c.waitForCommand('ERROR', 10_000);
    assert.equal(header(e, 'message'), message, `ERROR body: ${bodyText(e)}`);
    assert.equal(header(e, 'receipt-id'), options.receipt);
    await c.waitClosed(10_000);
    assert.equal(c.frames.filter((f) => f.command === 'RECEIPT').length, 0, 'no RECEIPT for a refused frame');
    return e;
  } finally {
    c.close();
  }
}

/** Value of an unlabelled counter or gauge on /metrics. */
export async function metric(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  assert.ok(line !== undefined, `metric ${name} not exported`);
  return Number(line.slice(name.length + 1));
}

/** Collects the ERROR frames a connected stompjs client receives from now on. */
export function stompErrors(client: Client): IFrame[] {
  const errors: IFrame[] = [];
  client.onStompError = (f) => errors.push(f);
  return errors;
}
