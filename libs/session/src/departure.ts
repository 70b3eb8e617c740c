// The ERROR frames that tell a client why the node, not the client, ended its connection: the node
// is draining (the client should reconnect elsewhere and resume), or an administrator closed it.
import type { Session } from './session.js';

/** ERROR `message` of a connection closed by a drain. */
export const DRAINING_MESSAGE = 'node draining';
/** Header of a drain's ERROR: "true". */
export const DRAINING_HEADER = 'x-draining';
/** Header of a drain's ERROR: the draining node's id. */
export const NODE_HEADER = 'x-node-id';
/**
 * Prefix of a drain ERROR's headers naming, per topic subscription, the last message-id delivered
 * on it: `x-last-message-id-<subscription id>`. Resume with it (x-resume-after) on another node.
 */
export const LAST_MESSAGE_ID_PREFIX = 'x-last-message-id-';
/** ERROR `message` of a connection closed through the admin API. */
export const ADMIN_CLOSE_MESSAGE = 'closed by administrator';
/** Header of an admin close's ERROR: the reason the administrator gave. */
export const CLOSE_REASON_HEADER = 'x-close-reason';

export function closeForDrain(session: Session, nodeId: string): void {
  const headers: [string, string][] = [[DRAINING_HEADER, 'true'], [NODE_HEADER, nodeId]];
  for (const sub of session.subscriptionList()) {
    const position = sub.position;
    // STOMP 1.0 escapes nothing: an id that cannot be a header name is left out.
    if (position !== undefined && (session.version !== '1.0' || /^[^:\r\n]+$/.test(sub.id))) {
      headers.push([LAST_MESSAGE_ID_PREFIX + sub.id, position]);
    }
  }
  session.fail(
    DRAINING_MESSAGE,
    `Node ${nodeId} is draining: reconnect (to another node) and resubscribe, with x-resume-after set to the ${LAST_MESSAGE_ID_PREFIX}<subscription id> header of this frame to miss nothing.`,
    undefined,
    headers,
  );
}

export function closeByAdmin(session: Session, reason: string): void {
  session.fail(ADMIN_CLOSE_MESSAGE, `An administrator closed this connection: ${reason}`, undefined, [[CLOSE_REASON_HEADER, reason]]);
}
