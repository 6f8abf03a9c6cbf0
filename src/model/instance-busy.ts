/**
 * This instance already works on as many requests as it takes (of one connection, or in all) and the request's
 * turn did not come in time: nothing was read or written. Not a Refusal: nothing is wrong with the request, so a
 * chat platform shows it to the person as a message, like any failure after the message was accepted.
 */
const RETRY_AFTER_SECONDS = 1;

export class InstanceBusyError extends Error {
  override readonly name = 'InstanceBusyError';
  readonly retryAfterSeconds = RETRY_AFTER_SECONDS;
  constructor(
    /** Requests of the same connection at work or waiting here. */
    readonly ofConnection: number,
    /** Requests at work or waiting here, in all. */
    readonly inAll: number,
  ) {
    super(
      `This instance is busy (${ofConnection} other requests on this connection, ${inAll} in all); nothing was done. Retry after ${RETRY_AFTER_SECONDS} s.`,
    );
  }
}
