// stompjs conveniences for the destination/queue/ack tests: subscribe-and-wait, publish-and-wait.
import type { Client, IMessage, StompSubscription } from '@stomp/stompjs';
import { receipt } from './stompjs.js';

let seq = 0;
const nextId = (kind: string): string => `${kind}-${++seq}-${process.pid}`;

/** Subscribes and resolves once the broker's RECEIPT for the SUBSCRIBE arrived. */
export async function subscribed(
  client: Client,
  destination: string,
  onMessage: (m: IMessage) => void,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<StompSubscription> {
  const id = nextId('sub');
  const sub = client.subscribe(destination, onMessage, { ...headers, receipt: id });
  await receipt(client, id, timeoutMs);
  return sub;
}

/**
 * Publishes `bodies` in order with a receipt on the last one and waits for it: every message has
 * been processed by the broker when this resolves.
 */
export async function publishAll(
  client: Client,
  destination: string,
  bodies: readonly string[],
  headers: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<void> {
  const id = nextId('pub');
  bodies.forEach((body, i) => client.publish({ destination, body, headers: i === bodies.length - 1 ? { ...headers, receipt: id } : headers }));
  await receipt(client, id, timeoutMs);
}

/** ['m-0', 'm-1', ...] */
export const range = (n: number, prefix = 'm-'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
