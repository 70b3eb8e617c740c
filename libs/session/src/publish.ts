// SEND: a client frame becomes a published message. The broker owns some headers of the MESSAGE
// frames it delivers, so a SEND cannot supply them, and a `reply-to:/temp-queue/<name>` is
// rewritten to the sending session's private reply queue.
import type { Completion, UserHeaders } from '@stompede/cluster';
import type { Frame, Headers } from '@stompede/stomp';
import { TEMP_QUEUE_PREFIX } from './destinations.js';
import type { Hub } from './hub.js';
import { checkedDestination, queueRefusal, required } from './refusal.js';

/** Headers the broker sets on MESSAGE frames; a SEND cannot supply them. */
const RESERVED_HEADERS = new Set([
  'destination', 'receipt', 'transaction', 'content-length', 'message-id', 'subscription', 'ack', 'redelivered',
  'x-delivery-count', 'x-resume-gap',
]);

/** Where a `reply-to:/temp-queue/<name>` leads: the sending session's reply queue of that name. */
export interface ReplyQueues {
  replyQueueFor(tempName: string): string;
}

/** Publishes a SEND's body and user headers; the broker's completion says when it is accepted. */
export function publishSend(frame: Frame, hub: Hub, vhost: string, replyQueues: ReplyQueues): Completion {
  const name = required(frame.headers, 'destination', 'SEND');
  const destination = checkedDestination(name, 'send', hub.config);
  const headers = userHeaders(frame.headers, replyQueues);
  try {
    return hub.router.publish(vhost, destination, headers, frame.body, frame.headers.has('receipt'));
  } catch (err) {
    throw queueRefusal(err) ?? err;
  }
}

/** User headers of a SEND, without server-owned ones; a /temp-queue reply-to becomes a reply queue. */
function userHeaders(h: Headers, replyQueues: ReplyQueues): UserHeaders {
  const names: string[] = [];
  const values: string[] = [];
  let replyTo = false;
  for (let i = 0; i < h.names.length; i++) {
    const name = h.names[i]!;
    if (RESERVED_HEADERS.has(name)) continue;
    let value = h.values[i]!;
    if (name === 'reply-to' && !replyTo) {
      replyTo = true;
      if (value.startsWith(TEMP_QUEUE_PREFIX)) value = replyQueues.replyQueueFor(value);
    }
    names.push(name);
    values.push(value);
  }
  return { names, values };
}
