// Parsers for option values. They throw commander's InvalidArgumentError, which commander reports
// as a usage error naming the option.
import { InvalidArgumentError } from 'commander';

const MS_PER_UNIT: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;

/** "500ms", "10s", "2m", "1h" or plain milliseconds ("250"), in milliseconds. */
export function parseDurationMs(text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new InvalidArgumentError('expected a duration such as 500ms, 10s, 2m, 1h or milliseconds.');
  return Math.round(Number(match[1]) * MS_PER_UNIT[match[2] ?? 'ms']!);
}

/** A duration that cannot be zero, such as a deadline or a polling interval. */
export function parsePositiveDurationMs(text: string): number {
  const ms = parseDurationMs(text);
  if (ms <= 0) throw new InvalidArgumentError('must be longer than 0ms.');
  return ms;
}

export function parsePositiveInteger(text: string): number {
  const value = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError('expected a whole number greater than 0.');
  }
  return value;
}

/** "a,b, c" as ["a", "b", "c"]. */
export function parseNameList(text: string): string[] {
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) throw new InvalidArgumentError('expected comma-separated names.');
  return names;
}
