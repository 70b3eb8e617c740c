import type { Duration } from './gen/google/protobuf/duration.js';

export function durationFromMs(ms: number): Duration {
  const whole = Math.floor(ms / 1000);
  return { seconds: whole, nanos: Math.round((ms - whole * 1000) * 1e6) };
}

/** Milliseconds of a Duration; NaN when it is malformed (negative, or nanos out of range). */
export function msFromDuration(d: Duration): number {
  if (d.seconds < 0 || d.nanos < 0 || d.nanos > 999_999_999) return NaN;
  return d.seconds * 1000 + d.nanos / 1e6;
}
