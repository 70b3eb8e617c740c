// Version negotiation and heart-beat header parsing: the CONNECT-time decisions of STOMP 1.0-1.2.

export type StompVersion = '1.0' | '1.1' | '1.2';

/** Highest first: negotiation picks the first of these the client also accepts. */
export const SUPPORTED_VERSIONS: readonly StompVersion[] = ['1.2', '1.1', '1.0'];

/**
 * Picks the highest version both sides speak. A missing `accept-version` means the client only
 * speaks 1.0 (spec: "Protocol Negotiation"). Returns null when there is no common version.
 */
export function negotiateVersion(acceptVersion: string | undefined): StompVersion | null {
  if (acceptVersion === undefined) return '1.0';
  const offered = acceptVersion.split(',');
  for (const v of SUPPORTED_VERSIONS) {
    for (const o of offered) if (o.trim() === v) return v;
  }
  return null;
}

export interface HeartBeat {
  /** Smallest interval the sender can guarantee between its beats, 0 = cannot send. */
  readonly sendMs: number;
  /** Interval the sender would like to receive beats at, 0 = does not want them. */
  readonly receiveMs: number;
}

const MAX_HEARTBEAT_MS = 2 ** 31 - 1;

/**
 * Parses `heart-beat: cx,cy`. A missing header means 0,0. Anything but two non-negative decimal
 * integers is an error (the spec says the header MUST contain two integers).
 */
export function parseHeartBeat(value: string | undefined): HeartBeat | null {
  if (value === undefined) return { sendMs: 0, receiveMs: 0 };
  const comma = value.indexOf(',');
  if (comma < 0) return null;
  const a = parseDecimal(value.slice(0, comma));
  const b = parseDecimal(value.slice(comma + 1));
  if (a === null || b === null) return null;
  return { sendMs: a, receiveMs: b };
}

function parseDecimal(text: string): number | null {
  if (text.length === 0 || text.length > 10) return null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  const n = Number(text);
  return n <= MAX_HEARTBEAT_MS ? n : null;
}
