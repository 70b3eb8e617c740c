// @stomp/stompjs clients over the `ws` WebSocket, the way browser and Node users run them, and the
// conveniences tests use with them: collecting messages, subscribe-and-wait, publish-and-wait.
import { Client, type IMessage, type StompConfig, type StompSubscription } from '@stomp/stompjs';
import WebSocket from 'ws';

// stompjs looks for a global WebSocket (browsers have one; Node 20 does not by default).
Object.assign(globalThis, { WebSocket });

export async function connectStompjs(url: string, config: StompConfig = {}): Promise<Client> {
  const client = new Client({ brokerURL: url, reconnectDelay: 0, debug: () => {}, ...config });
  await new Promise<void>((resolve, reject) => {
    client.onConnect = () => resolve();
    client.onStompError = (f) => reject(new Error(`STOMP ERROR: ${f.headers['message']} ${f.body}`));
    client.onWebSocketError = () => reject(new Error('WebSocket error'));
    client.activate();
  });
  return client;
}

/** Collects messages of a subscription; `until(n)` waits for n of them. */
export class Inbox {
  readonly messages: IMessage[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  readonly push = (m: IMessage): void => {
    this.messages.push(m);
    this.waiters = this.waiters.filter((w) => {
      if (this.messages.length < w.n) return true;
      w.resolve();
      return false;
    });
  };

  async until(n: number, timeoutMs = 5000): Promise<IMessage[]> {
    if (this.messages.length >= n) return this.messages;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.waiters.push({ n, resolve })),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`got ${this.messages.length} of ${n} messages in ${timeoutMs} ms`)), timeoutMs))),
    ]);
    clearTimeout(timer);
    return this.messages;
  }

  get bodies(): string[] {
    return this.messages.map((m) => m.body);
  }
}

/**
 * Waits for a receipt through stompjs's watchForReceipt. An ERROR frame or a closed socket while
 * waiting fails it at once, with the ERROR's message: a failure that says why.
 */
export function receipt(client: Client, id: string, timeoutMs = 5000): Promise<void> {
  const { onStompError, onWebSocketClose } = client;
  let timer: NodeJS.Timeout | undefined;
  return new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no RECEIPT ${id} in ${timeoutMs} ms`)), timeoutMs);
    client.onStompError = (frame) => {
      onStompError(frame);
      reject(new Error(`ERROR instead of RECEIPT ${id}: ${frame.headers['message']} ${frame.body}`));
    };
    client.onWebSocketClose = (event: CloseEvent) => {
      onWebSocketClose(event);
      reject(new Error(`socket closed (${event.code}) before RECEIPT ${id}`));
    };
    client.watchForReceipt(id, () => resolve());
  }).finally(() => {
    clearTimeout(timer);
    client.onStompError = onStompError;
    client.onWebSocketClose = onWebSocketClose;
  });
}

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
