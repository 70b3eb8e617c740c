// What an exit code means to the scripts that call stompede-ctl, and which failures map to which.
import { status } from '@grpc/grpc-js';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  unreachable: 3,
  refused: 4,
  /** The shell's code for "ended by Ctrl-C" (128 + SIGINT). */
  interrupted: 130,
} as const;

/** A failure that already carries its message for people and its exit code for scripts. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** The part of a grpc-js ServiceError stompede-ctl looks at. */
export interface StatusError {
  readonly code: number;
  readonly details: string;
}

export function isStatusError(error: unknown): error is StatusError {
  if (typeof error !== 'object' || error === null) return false;
  const { code, details } = error as Record<string, unknown>;
  return typeof code === 'number' && typeof details === 'string';
}

export function exitCodeForStatus(code: number): number {
  switch (code) {
    case status.OK:
      return EXIT.ok;
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
      return EXIT.unreachable;
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      return EXIT.refused;
    default:
      return EXIT.failure;
  }
}

/** "NOT_FOUND: no node x", plus where to look when the server could not be reached or refused us. */
export function cliErrorFromStatus(error: StatusError, server: string): CliError {
  const exitCode = exitCodeForStatus(error.code);
  const name = status[error.code] ?? `status ${error.code}`;
  const lines = [`${name}: ${error.details.trim() || 'no details'}`];
  if (exitCode === EXIT.unreachable) {
    lines.push(`(is the admin port of a stompede node at ${server}? see --server, STOMPEDE_ADMIN_ADDR)`);
  }
  if (exitCode === EXIT.refused) {
    lines.push(`(${server} refused the credentials; see --token, --token-file, STOMPEDE_ADMIN_TOKEN)`);
  }
  return new CliError(lines.join('\n'), exitCode);
}
