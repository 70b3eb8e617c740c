import type { Headers } from './headers.js';

/** Client commands (spec "Client Frames") and server commands ("Server Frames"). */
export const ClientCommands = [
  'CONNECT', 'STOMP', 'SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT',
] as const;
export const ServerCommands = ['CONNECTED', 'MESSAGE', 'RECEIPT', 'ERROR'] as const;
export type ClientCommand = (typeof ClientCommands)[number];
export type ServerCommand = (typeof ServerCommands)[number];

/**
 * A parsed frame. `body` (and the frame itself) is only valid during the callback that receives
 * it: it may be a view into a transport buffer that is reused or neutered afterwards.
 */
export interface Frame {
  readonly command: string;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

/** Frames whose headers are never escaped (spec: "Value Encoding"). */
export function isConnectCommand(command: string): boolean {
  return command === 'CONNECT' || command === 'STOMP' || command === 'CONNECTED';
}
