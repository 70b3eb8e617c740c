// One short-lived connection in k6: CONNECT, SUBSCRIBE with a receipt, hold, DISCONNECT with a
// receipt. A connection storm runs many of these at a fixed arrival rate; churn is the same with
// a hold that keeps a steady population turning over.
import { setTimeout } from 'k6/timers';
import { record } from './metrics.ts';
import { StompSocket } from './stomp.ts';

export interface ChurnPlan {
  readonly url: string;
  readonly destination: string;
  readonly holdMs: number;
  readonly connectTimeoutMs: number;
}

export function runChurn(plan: ChurnPlan): void {
  let failed = false;
  const fail = (): void => {
    if (failed) return;
    failed = true;
    record('stomp_connect_errors');
    socket.close();
  };
  const socket = new StompSocket(plan.url, {
    onConnected: (_, ms) => {
      record('stomp_connects');
      record('stomp_connect_ms', ms);
      socket.subscribe(plan.destination, 'churn', { receipt: 'subscribed' });
    },
    onReceipt: (id) => {
      if (id === 'subscribed') setTimeout(() => socket.disconnect('bye'), plan.holdMs);
      else if (id === 'bye') socket.close();
    },
    onError: () => {
      record('stomp_errors');
      fail();
    },
    onSocketError: () => fail(),
  });
  setTimeout(() => {
    if (!socket.connected && !socket.closed) fail();
  }, plan.connectTimeoutMs);
}
