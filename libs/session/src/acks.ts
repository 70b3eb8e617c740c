// ACK and NACK: finding the delivery a frame names, and settling it (invariants A1-A5). An ACK
// gives queue entries back to the broker as done; a NACK requeues (queue entries at the head of
// their queue, topic messages ahead of what waits on their subscription) or dead-letters.
import type { Message } from '@stompede/broker-api';
import type { Frame, StompVersion } from '@stompede/stomp';
import type { SessionHost } from './host.js';
import { Refusal, required } from './refusal.js';
import type { Delivery, Subscription } from './subscription.js';
import type { SubscriptionTable } from './subscription-table.js';

/** What an ACK or NACK names, and how to settle it. */
export interface Settlement {
  readonly sub: Subscription;
  readonly target: Delivery;
  readonly nack: boolean;
  readonly requeue: boolean;
}

/** The session side of settling: topic messages to redeliver wait on their subscription. */
export interface SettlingSession {
  readonly hub: SessionHost;
  readonly vhost: string;
  hold(sub: Subscription, message: Message, previous: number, atHead: boolean): void;
  releaseHeld(sub: Subscription): void;
}

/** Finds the delivery an ACK/NACK names and returns how to settle it; throws if unknown. */
export function resolveAck(frame: Frame, version: StompVersion, subs: SubscriptionTable | undefined): Settlement {
  const h = frame.headers;
  const nack = frame.command === 'NACK';
  let sub: Subscription | undefined;
  let delivery: Delivery | undefined;
  let named: string;
  if (version === '1.2') {
    named = required(h, 'id', frame.command);
    const dot = named.indexOf('.');
    sub = subs?.byOrdinal?.get(Number(named.slice(0, dot)));
    delivery = dot > 0 ? sub?.unacked.get(Number(named.slice(dot + 1))) : undefined;
    // Number() is lenient (" 1", "01", "0x1", "1.0"): only the exact ack header value names it.
    if (delivery !== undefined && named !== `${sub!.ordinal}.${delivery.tag}`) delivery = undefined;
  } else {
    named = required(h, 'message-id', frame.command);
    const subscription = version === '1.1' ? required(h, 'subscription', frame.command) : h.get('subscription');
    const candidates = subscription !== undefined ? [subs?.byId.get(subscription)] : [...(subs?.byId.values() ?? [])];
    for (const s of candidates) {
      delivery = s?.byMessageId?.get(named);
      if (delivery !== undefined) {
        sub = s;
        break;
      }
    }
  }
  if (sub === undefined || delivery === undefined) {
    throw new Refusal(
      `unknown ${nack ? 'nack' : 'ack'} id`,
      `No unacknowledged message "${named}" on this connection (already settled, auto-ack, or never delivered).`,
    );
  }
  const requeueHeader = h.get('requeue');
  if (requeueHeader !== undefined && requeueHeader !== 'true' && requeueHeader !== 'false') {
    throw new Refusal('invalid requeue', `requeue must be true or false, got "${requeueHeader}".`);
  }
  return { sub, target: delivery, nack, requeue: requeueHeader !== 'false' };
}

export function settle(session: SettlingSession, { sub, target, nack, requeue }: Settlement): void {
  if (!sub.unacked.has(target.tag)) {
    throw new Refusal(`unknown ${nack ? 'nack' : 'ack'} id`, 'The message was settled before the transaction committed.');
  }
  const settled = sub.settledBy(target);
  for (const d of settled) sub.untrack(d);
  const router = session.hub.router;
  const limit = session.hub.config.maxDeliveries;
  const again: Delivery[] = [];
  // Acks and dead letters in delivery order, so the dead-letter destination keeps that order.
  for (const d of settled) {
    if (!nack) {
      if (d.entry !== undefined) router.ackEntry(session.vhost, d.entry);
    } else if (!requeue || (limit > 0 && d.previous + 1 >= limit)) {
      router.deadLetterMessage(session.vhost, d.message, requeue ? 'delivery-limit' : 'rejected');
      if (d.entry !== undefined) router.ackEntry(session.vhost, d.entry);
    } else {
      again.push(d);
    }
  }
  // Requeues walk backwards so they end up at the head in their original order.
  for (let i = again.length - 1; i >= 0; i--) {
    const d = again[i]!;
    if (d.entry !== undefined) {
      router.requeueEntry(session.vhost, d.entry);
    } else {
      session.hub.metrics.messagesRedelivered++;
      session.hold(sub, d.message, d.previous + 1, true);
    }
  }
  if (sub.queue !== undefined) sub.queue.schedule();
  else session.releaseHeld(sub);
}
