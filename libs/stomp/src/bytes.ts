// Byte values the STOMP grammar is written in.
export const NUL = 0x00;
export const LF = 0x0a;
export const CR = 0x0d;
export const COLON = 0x3a;
export const BACKSLASH = 0x5c;
