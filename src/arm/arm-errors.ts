/** Typed failures of a Resource Manager call. The edge turns them into problem+json (http/failure-problem.ts). */

export interface CloudErrorBody {
  code?: string;
  message?: string;
  target?: string;
  details?: CloudErrorBody[];
}

/** ARM answered with a non-retryable error (a CloudError, or a body we could not read). */
export class ArmError extends Error {
  override readonly name = 'ArmError';
  constructor(
    readonly status: number,
    readonly cloudError: CloudErrorBody,
    readonly armRequestId: string | undefined,
    readonly correlationId: string,
  ) {
    super(
      `Resource Manager answered ${status} ${cloudError.code ?? 'UnknownError'}: ${cloudError.message ?? '(no message)'}`,
    );
  }

  get code(): string | undefined {
    return this.cloudError.code;
  }
}

/**
 * ARM kept failing with a retryable condition (throttling, 5xx, connection errors) until the retries or the
 * deadline ran out. `retryAfterSeconds` tells the caller when trying again is worthwhile.
 */
export class ArmUnavailableError extends Error {
  override readonly name = 'ArmUnavailableError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    readonly lastStatus: number | undefined,
    readonly armRequestId: string | undefined,
    readonly correlationId: string,
    readonly cloudError?: CloudErrorBody,
    /** A PUT was sent at least once: it may have been applied even though no success came back. */
    readonly mayHaveApplied = false,
  ) {
    super(message);
  }

  /** The same failure, known to follow a PUT that may have been applied (an earlier attempt's). */
  afterPutSent(): ArmUnavailableError {
    if (this.mayHaveApplied) return this;
    const { message, retryAfterSeconds, lastStatus, armRequestId, correlationId, cloudError } = this;
    return new ArmUnavailableError(
      message,
      retryAfterSeconds,
      lastStatus,
      armRequestId,
      correlationId,
      cloudError,
      true,
    );
  }
}

/**
 * The PUT started a long-running operation that had not ended by the deadline. `resumeToken` is the poller's
 * state: the queue resumes waiting on the same operation instead of writing again.
 */
export class ArmOperationRunningError extends Error {
  override readonly name = 'ArmOperationRunningError';
  constructor(
    readonly resumeToken: string,
    readonly retryAfterSeconds: number,
    readonly correlationId: string,
  ) {
    super('the provider is still applying the change (a long-running operation); it continues');
  }
}

/** The long-running operation ended `Failed` or `Canceled`: the provider did not apply the change. */
export class ArmOperationFailedError extends Error {
  override readonly name = 'ArmOperationFailedError';
  constructor(
    readonly status: 'failed' | 'canceled',
    readonly cloudError: CloudErrorBody,
    readonly correlationId: string,
    /** The operation's state could not be read (refused, or its URL not followed): the change may still land. */
    readonly mayHaveApplied = false,
  ) {
    super(
      `the provider's operation ended ${status}: ${cloudError.code ?? 'no error code'}${cloudError.message ? ` (${cloudError.message})` : ''}`,
    );
  }
}

/** The connection is in the middle of a change (a provisioning state such as `Approving`): neither decided nor free. */
export class ConnectionSettlingError extends Error {
  override readonly name = 'ConnectionSettlingError';
  readonly retryAfterSeconds = 10;
  constructor(
    readonly provisioningState: string,
    readonly correlationId: string,
  ) {
    super(`the connection is ${provisioningState}: a change to it is still being applied`);
  }
}

/** A 2xx answer whose body is not a private endpoint connection: ARM (or whatever answered) is broken. */
export class ArmResponseError extends Error {
  override readonly name = 'ArmResponseError';
  constructor(
    message: string,
    readonly status: number,
    readonly armRequestId: string | undefined,
    readonly correlationId: string,
  ) {
    super(message);
  }
}

export function parseCloudError(body: string | undefined): CloudErrorBody {
  if (!body) return {};
  const asText: CloudErrorBody = { message: body.slice(0, 300) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Not JSON: a proxy or gateway page, say, whose text is the only message there is.
    return asText;
  }
  if (typeof parsed !== 'object' || parsed === null) return asText;
  const fields = parsed as Record<string, unknown>;
  if (typeof fields.error === 'object' && fields.error !== null)
    return pickCloudError(fields.error as Record<string, unknown>);
  // A resource (the connection itself, read at the end of a wait): nothing of it is a message, and its ids are
  // not the caller's to be shown as one.
  if ('id' in fields || 'properties' in fields) return {};
  // An error without the `error` wrapper, as some providers send it (App Service: `Code`, `Message`).
  const bare = pickCloudError({
    code: fields.code ?? fields.Code,
    message: fields.message ?? fields.Message,
  });
  return bare.code !== undefined || bare.message !== undefined ? bare : asText;
}

function pickCloudError(raw: Record<string, unknown>): CloudErrorBody {
  const out: CloudErrorBody = {};
  if (typeof raw.code === 'string') out.code = raw.code;
  if (typeof raw.message === 'string') out.message = raw.message;
  if (typeof raw.target === 'string') out.target = raw.target;
  if (Array.isArray(raw.details)) {
    out.details = raw.details
      .filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null)
      .map(pickCloudError);
  }
  return out;
}
