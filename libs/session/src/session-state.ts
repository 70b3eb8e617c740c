/** Where a connection is in its life: before CONNECT, serving, ending after an ERROR or DISCONNECT, gone. */
export type SessionState = 'connecting' | 'connected' | 'closing' | 'closed';
