/**
 * A violation of the protocol or of a configured limit. Fatal to the connection: the session
 * answers with an ERROR frame whose `message` is `message` and closes. `limit` names the
 * configuration setting that was exceeded, if any.
 */
export class StompProtocolError extends Error {
  constructor(
    message: string,
    readonly detail: string = '',
    readonly limit?: string,
  ) {
    super(message);
    this.name = 'StompProtocolError';
  }
}
