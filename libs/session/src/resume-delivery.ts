// Delivering to resumable subscriptions (resume.ts has the why): live messages are admitted by
// position while the history is read, then the history is handed over.
import type { Broker, Completion, Message, Replay } from '@stompede/broker-api';
import type { Resume } from './resume.js';
import type { Subscription } from './subscription.js';

/** For the router: whether a live message goes to a resuming subscription now. */
export function admitLive(sub: Subscription, resume: Resume, message: Message, maxPendingOutboundBytes: number): boolean {
  if (resume.live(message)) return true;
  // Live messages that wait for the history are output the client has not taken: bounded like it.
  if (resume.waitingBytes > maxPendingOutboundBytes) sub.session.abortSlowConsumer();
  return false;
}

/**
 * Reads the history once `watched` (the subscription's watch) has completed, so that it reaches at
 * least as far back as the live feed starts, and hands it to `sub`. The returned completion is what
 * the SUBSCRIBE's RECEIPT waits for; a failed read fails the connection (completions.ts).
 */
export function replayInto(sub: Subscription, resume: Resume, broker: Broker, vhost: string, watched: Completion): Completion {
  const read = (): Completion => {
    if (!attached(sub)) return;
    const replay = broker.replay(vhost, sub.destination.name, resume.afterId);
    if (replay instanceof Promise) return replay.then((r) => deliverReplay(sub, resume, r));
    deliverReplay(sub, resume, replay);
  };
  return watched instanceof Promise ? watched.then(read) : read();
}

function deliverReplay(sub: Subscription, resume: Resume, replay: Replay): void {
  // Unsubscribed, or the connection ended, while the history was read: nobody to deliver it to.
  if (!attached(sub)) return;
  for (const m of resume.caughtUp(replay)) sub.session.deliverTopic(sub, m);
}

/** Still subscribed: resuming subscriptions are delivered one by one, from their node's `single`. */
function attached(sub: Subscription): boolean {
  return sub.topicNode?.hasSingle(sub) === true && sub.session.state === 'connected';
}
