// SEND: a client frame becomes a published message. The broker owns some headers of the MESSAGE
// frames it delivers, so a SEND cannot supply them, and a `reply-to:/temp-queue/<name>` is
// rewritten to the sending session's private reply queue.
import type { Completion, UserHeaders } from '@stompede/broker-api';
import type { Frame, Headers } from '@stompede/stomp';
import { TOKEN_REFRESH_DESTINATION } from './authenticator.js';
import { TEMP_QUEUE_PREFIX } from './destinations.js';
import type { SessionHost } from './host.js';
import { checkedDestination, queueRefusal, Refusal, required } from './refusal.js';

/** Headers the broker sets on MESSAGE frames; a SEND cannot supply them. */
const RESERVED_HEADERS = new Set([
  'destination', 'receipt', 'transaction', 'content-length', 'message-id', 'subscription', 'ack', 'redelivered',
  'x-delivery-count', 'x-resume-gap', 'x-gap-messages',
]);

/** The sending session, as a SEND needs it. */
export interface PublishingSession {
  /** SEND frames of this connection the broker accepted so far (refusals say it: x-sends-accepted). */
  readonly sendsAccepted: number;
  /** Where a `reply-to:/temp-queue/<name>` leads: the sending session's reply queue of that name. */
  replyQueueFor(tempName: string): string;
  /** Stops processing input until the publish pressure goes (held-input.ts). */
  holdInput(): void;
  /** A SEND to TOKEN_REFRESH_DESTINATION: its headers carry new credentials, nothing is published. */
  refreshCredentials(headers: Headers): Completion;
}

/** ERROR header: how many SEND frames of the connection were accepted before the refusal. */
export const SENDS_ACCEPTED_HEADER = 'x-sends-accepted';

/**
 * Publishes a SEND's body and user headers; the broker's completion says when it is accepted. Under
 * publish pressure the message is still accepted and the session's input is held; past it (a node
 * reading the destination would lose messages) the SEND is refused. `checked`: a committed
 * transaction's SEND, whose refusal was decided for the whole transaction (refuseOverloaded).
 */
export function publishSend(frame: Frame, hub: SessionHost, vhost: string, publisher: PublishingSession, checked = false): Completion {
  const name = required(frame.headers, 'destination', 'SEND');
  if (name === TOKEN_REFRESH_DESTINATION) return publisher.refreshCredentials(frame.headers);
  const destination = checkedDestination(name, 'send', hub.config);
  const pressure = hub.router.pressure(vhost, destination);
  if (pressure === 'full' && !checked) throw overloaded(destination.name, publisher);
  const headers = userHeaders(frame.headers, publisher);
  let done: Completion;
  try {
    done = hub.router.publish(vhost, destination, headers, frame.body, frame.headers.has('receipt'));
  } catch (err) {
    throw queueRefusal(err) ?? err;
  }
  if (pressure === 'slow') publisher.holdInput();
  return done;
}

/**
 * A transaction is applied whole or not at all: at its COMMIT, if any of its SENDs would be refused
 * (destination overloaded), the COMMIT is, before anything of it is published.
 */
export function refuseOverloaded(frames: readonly Frame[], hub: SessionHost, vhost: string, publisher: PublishingSession): void {
  for (const frame of frames) {
    if (frame.command !== 'SEND') continue;
    const destination = checkedDestination(required(frame.headers, 'destination', 'SEND'), 'send', hub.config);
    if (hub.router.pressure(vhost, destination) === 'full') throw overloaded(destination.name, publisher);
  }
}

function overloaded(destination: string, publisher: PublishingSession): Refusal {
  return new Refusal(
    'destination overloaded',
    `A node reading ${destination} is too far behind (close to STOMPEDE_REDIS_STREAM_MAX_ENTRIES): the message was not accepted. ${SENDS_ACCEPTED_HEADER} says how many SENDs of this connection were; publish again later.`,
    [[SENDS_ACCEPTED_HEADER, String(publisher.sendsAccepted)]],
  );
}

/** User headers of a SEND, without server-owned ones; a /temp-queue reply-to becomes a reply queue. */
function userHeaders(h: Headers, replyQueues: Pick<PublishingSession, 'replyQueueFor'>): UserHeaders {
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
