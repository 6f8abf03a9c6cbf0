/**
 * Work accepted earlier whose every attempt failed unexpectedly (its queue messages poisoned, resent by the
 * sweeper as often as it does): it ends failed rather than being retried for ever, and says whether an earlier
 * attempt sent the change, since then it may have been applied.
 */
export class WorkAbandonedError extends Error {
  override readonly name = 'WorkAbandonedError';
  constructor(
    readonly swept: number,
    readonly putSent: boolean,
  ) {
    super(
      `Each attempt of this approval failed unexpectedly and its messages were resent ${swept} times, so nothing more is tried${
        putSent
          ? '; an earlier attempt sent the change to Resource Manager, so it may have been applied: read the connection before sending the request again'
          : ''
      }`,
    );
  }
}
