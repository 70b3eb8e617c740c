// MESSAGE frame text. A frame is "MESSAGE", the per-subscription lines (subscription, ack,
// redelivery), then the per-message lines (a gap before it, message-id, destination, user headers,
// content-length). The per-message part is encoded once per escaping rule and cached on the
// message, so fan-out to many subscriptions only concatenates. A user stream's messages show the
// user destination their subscribers subscribed to (user-destinations.ts), decided here, once.
import { isUtf8 } from 'node:buffer';
import type { Message } from '@stompede/broker-api';
import { escapeHeaderValue, type Escaping, type StompVersion } from '@stompede/stomp';
import { clientDestination } from './user-destinations.js';

export function messageTail(message: Message, escaping: Escaping): string {
  if (message.encodedFor === escaping) return message.encoded!;
  if (message.encodedFor === undefined) {
    message.encodedFor = escaping;
    return (message.encoded = encodeTail(message, escaping));
  }
  const others = (message.encodedOthers ??= new Map());
  let tail = others.get(escaping);
  if (tail === undefined) {
    tail = encodeTail(message, escaping);
    others.set(escaping, tail);
  }
  return tail;
}

function encodeTail(message: Message, escaping: Escaping): string {
  let tail = gapLines(message) + 'message-id:' + escapeHeaderValue(message.id, escaping) +
    '\ndestination:' + escapeHeaderValue(clientDestination(message.destination), escaping) + '\n';
  const { names, values } = message.headers;
  for (let i = 0; i < names.length; i++) {
    tail += escapeHeaderValue(names[i]!, escaping) + ':' + escapeHeaderValue(values[i]!, escaping) + '\n';
  }
  return tail + 'content-length:' + message.body.length + '\n\n';
}

/** Set on a MESSAGE that follows messages of its destination the node knows it missed. */
export const GAP_HEADER = 'x-resume-gap';
/** How many were missed, with GAP_HEADER. */
export const GAP_COUNT_HEADER = 'x-gap-messages';

/**
 * The lines telling every subscriber that messages of this destination were lost before this one
 * (the node fell further behind than its stream keeps, or Redis lost them): resume from another
 * node's history, or accept the gap. The same header a resumed subscription gets when its history
 * falls short (resume.ts), plus the count.
 */
function gapLines(message: Message): string {
  return message.missedBefore > 0 ? `${GAP_HEADER}:true\n${GAP_COUNT_HEADER}:${message.missedBefore}\n` : '';
}

/** "MESSAGE\nsubscription:<id>\n", computed once per subscription or group. */
export function messageOpening(subscriptionId: string, version: StompVersion): string {
  return 'MESSAGE\nsubscription:' + escapeHeaderValue(subscriptionId, version) + '\n';
}

/** Lines a redelivered message carries: RabbitMQ's `redelivered` and a delivery count. */
export function redeliveryLines(previousDeliveries: number): string {
  return previousDeliveries > 0 ? `redelivered:true\nx-delivery-count:${previousDeliveries}\n` : '';
}

/** Whether a message body may travel as WebSocket text; computed once per message. */
export function textBody(message: Message): boolean {
  return (message.textBody ??= isUtf8(message.body));
}
