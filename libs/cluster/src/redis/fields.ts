// The field names of every stream entry Stompede writes, in one place. Names are one byte: every
// entry of a stream repeats them (entries with the same fields share a listpack master entry), and
// readers compare them as bytes (codec.ts).

/** The message: user headers and body (codec.ts's encodeEntry). */
export const DATA_FIELD = 'd';
/** "<incarnation>:<seq>" of the publishing node process: readers skip repeats and see gaps (origin.ts). */
export const ORIGIN_FIELD = 'o';
/** Inbox entries: the reply queue the entry is for. */
export const QUEUE_FIELD = 'q';
/** Inbox entries: its vhost. */
export const VHOST_FIELD = 'v';
/** Wake-up entries (reader.ts): the value is irrelevant. */
export const WAKE_FIELD = 'w';
