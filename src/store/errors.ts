/**
 * Typed failures of the Table Storage layer. Routes map `StoreUnavailableError` to 503 with `Retry-After`;
 * everything else that escapes the store is a bug or tampering and maps to 500.
 */

export class StoreError extends Error {
  override readonly name: string = 'StoreError';
  constructor(
    message: string,
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Storage could not be reached or kept failing (network, timeout, throttling, 5xx, missing RBAC or tables). */
export class StoreUnavailableError extends StoreError {
  override readonly name = 'StoreUnavailableError';
  constructor(
    operation: string,
    readonly status: number | undefined,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown; detail?: string },
  ) {
    super(
      `Storage unavailable during ${operation}${status !== undefined ? ` (HTTP ${status})` : ''}` +
        (options?.detail ? `: ${options.detail}` : ''),
      operation,
      options,
    );
  }
}

/** Storage answered with a 4xx that retrying cannot fix (e.g. an entity over the size limit): a bug, not an outage. */
export class StoreRequestError extends StoreError {
  override readonly name = 'StoreRequestError';
  constructor(
    operation: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(`Storage rejected ${operation} (HTTP ${status})`, operation, options);
  }
}

/** The idempotency claim was taken over (lease expired) before `complete`/`release`: another attempt owns it now. */
export class ClaimLostError extends StoreError {
  override readonly name = 'ClaimLostError';
  constructor(operation: string) {
    super(`Idempotency claim was taken over by another attempt before ${operation}`, operation);
  }
}

/** An audit record with this request id already exists with different content. */
export class AuditConflictError extends StoreError {
  override readonly name = 'AuditConflictError';
  constructor(readonly requestId: string) {
    super(`An audit record for request ${requestId} already exists with different content`, 'audit.append');
  }
}

/** Stored audit data (a record row or a chain head) cannot be read back: a column was edited into nonsense. */
export class AuditRecordCorruptError extends StoreError {
  override readonly name = 'AuditRecordCorruptError';
  constructor(
    readonly requestId: string,
    detail: string,
  ) {
    super(`Audit data for request ${requestId} is unreadable: ${detail}`, 'audit');
  }
}

/** Another decision on the same connection still holds its lease, and the wait for it ran out. */
export class ConnectionBusyError extends StoreError {
  override readonly name = 'ConnectionBusyError';
  constructor(
    readonly connectionId: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`Another decision on connection ${connectionId} is still in progress`, 'audit.lease');
  }
}
