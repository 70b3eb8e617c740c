// Queue traffic in k6: producers sending numbered work, and competing consumers (client-individual
// acks, prefetch) acking each message with a receipt. Each consumer records its share of the work
// against a fair share; duplicates are deliveries, not marked redelivered, of a message this
// consumer already acked (k6 VUs share no memory, so cross-consumer duplicates show up only as
// queue_acked above the number sent; the Node driver checks them exactly).
import { setInterval, clearInterval, setTimeout } from 'k6/timers';
import { record } from './metrics.ts';
import { HEADER } from './scenario-core.ts';
import { StompSocket } from './stomp.ts';

export interface ProducerPlan {
  readonly url: string;
  readonly destination: string;
  /** Messages this producer sends in all. */
  readonly messages: number;
  readonly durationMs: number;
  readonly bodyBytes: number;
}

export function runProducer(plan: ProducerPlan): void {
  const id = `k6-${__VU}-${Date.now()}`;
  const body = 'x'.repeat(plan.bodyBytes);
  const started = Date.now();
  let sent = 0;
  let confirmed = 0;
  const socket = new StompSocket(plan.url, {
    onReceipt: () => {
      record('queue_sent');
      if (++confirmed === plan.messages) socket.close();
    },
    onError: () => record('stomp_errors'),
  });
  const timer = setInterval(() => {
    const due = Math.min(plan.messages, Math.floor(((Date.now() - started) * plan.messages) / plan.durationMs) + 1);
    while (sent < due && socket.connected) {
      sent++;
      socket.send(plan.destination, { [HEADER.publisher]: id, [HEADER.seq]: String(sent), [HEADER.sentMs]: String(Date.now()), receipt: `q-${sent}` }, body);
    }
    if (sent >= plan.messages) clearInterval(timer);
  }, 10);
}

export interface ConsumerPlan {
  readonly url: string;
  readonly destination: string;
  readonly prefetch: number;
  /** Messages a consumer would get if the work were split evenly. */
  readonly fairShare: number;
  readonly holdMs: number;
}

export function runConsumer(plan: ConsumerPlan): void {
  const acked = new Set<string>();
  let ackSeq = 0;
  const socket = new StompSocket(plan.url, {
    onConnected: (_, ms) => {
      record('stomp_connects');
      record('stomp_connect_ms', ms);
      socket.subscribe(plan.destination, 'work', { ack: 'client-individual', 'prefetch-count': String(plan.prefetch) });
    },
    onMessage: (frame) => {
      const key = `${frame.headers[HEADER.publisher]}:${frame.headers[HEADER.seq]}`;
      if (acked.has(key) && frame.headers['redelivered'] !== 'true') record('queue_duplicated');
      record('queue_latency_ms', Date.now() - Number(frame.headers[HEADER.sentMs]));
      const receipt = `a-${++ackSeq}|${key}`;
      socket.ack(frame.headers['ack'] ?? '', { receipt });
    },
    onReceipt: (id) => {
      const key = id.slice(id.indexOf('|') + 1);
      if (acked.has(key)) {
        record('queue_duplicated');
        return;
      }
      acked.add(key);
      record('queue_acked');
    },
    onError: () => record('stomp_errors'),
  });
  setTimeout(() => {
    record('queue_share_ratio', acked.size / plan.fairShare);
    socket.close();
  }, plan.holdMs);
}
