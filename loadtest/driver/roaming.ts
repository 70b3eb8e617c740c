// A @stomp/stompjs client that behaves as docs/resume.md tells clients to: on a drain ERROR
// (x-draining) it moves on to another node; it reconnects after reconnectDelayMs whenever its
// connection is lost; onConnect runs after every (re)connect, where callers subscribe again
// (resuming). Node URLs come from a function, so a rolling update can change them under it (as a
// Kubernetes Service's endpoints change).
import { Client, type IFrame } from '@stomp/stompjs';
import WebSocket from 'ws';
import type { Metrics } from './metrics.js';

// stompjs looks for a global WebSocket; Node 20 has none.
Object.assign(globalThis, { WebSocket });

export interface RoamingOptions {
  /** The node URLs to use now. */
  readonly urls: () => readonly string[];
  /** Which URL to start with (an index, taken modulo the list's length). */
  readonly home: number;
  readonly reconnectDelayMs: number;
  readonly metrics: Metrics;
  /** Runs after each CONNECTED; `reconnect` is false the first time. */
  readonly onConnect: (client: Client, reconnect: boolean) => void;
  /** An ERROR that is not a drain notice (counted in stomp_errors too). */
  readonly onError?: (frame: IFrame) => void;
  /** A drain notice; `frame` holds x-last-message-id-<subscription>. */
  readonly onDrain?: (frame: IFrame) => void;
  /** Gets the time (Date.now()) of every reconnect: each CONNECTED after the first. */
  readonly reconnectLog?: number[];
}

export class Roaming {
  readonly client: Client;
  connections = 0;
  /** When the connection was lost (Date.now()), until the caller calls resumed(). */
  private lostAt: number | undefined;
  private next: number;

  constructor(private readonly options: RoamingOptions) {
    this.next = options.home;
    this.client = new Client({
      reconnectDelay: options.reconnectDelayMs,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      debug: () => {},
      beforeConnect: () => {
        const urls = options.urls();
        this.client.brokerURL = urls[this.next % urls.length];
      },
      onConnect: () => {
        this.connections++;
        options.metrics.add('stomp_connects');
        if (this.connections > 1) options.reconnectLog?.push(Date.now());
        options.onConnect(this.client, this.connections > 1);
      },
      onStompError: (frame) => {
        if (frame.headers['x-draining'] === 'true') {
          options.metrics.add('stomp_drain_notices');
          this.next++;
          options.onDrain?.(frame);
        } else {
          options.metrics.add('stomp_errors');
          options.onError?.(frame);
        }
      },
      onWebSocketClose: () => {
        this.lostAt ??= Date.now();
      },
      onWebSocketError: () => {
        if (this.connections === 0) options.metrics.add('stomp_connect_errors');
      },
    });
  }

  start(): void {
    this.client.activate();
  }

  /** The caller's subscriptions are back after a reconnect: one reconnect, timed from the loss. */
  resumed(): number | undefined {
    if (this.lostAt === undefined || this.connections < 2) return undefined;
    const ms = Date.now() - this.lostAt;
    this.lostAt = undefined;
    this.options.metrics.add('stomp_reconnects');
    this.options.metrics.add('stomp_reconnect_ms', ms);
    return ms;
  }

  stop(): Promise<void> {
    return this.client.deactivate();
  }
}

/** A receipt id unique within this process. */
let receipts = 0;
export const receiptId = (kind: string): string => `${kind}-${process.pid}-${++receipts}`;
