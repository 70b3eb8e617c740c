// Failures an admin call answers with: a gRPC status and a message that says what to fix.
import { status } from '@grpc/grpc-js';

export class AdminError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

export function invalidArgument(message: string): AdminError {
  return new AdminError(status.INVALID_ARGUMENT, message);
}

export function notFound(message: string): AdminError {
  return new AdminError(status.NOT_FOUND, message);
}

export function failedPrecondition(message: string): AdminError {
  return new AdminError(status.FAILED_PRECONDITION, message);
}

export function unavailable(message: string): AdminError {
  return new AdminError(status.UNAVAILABLE, message);
}
