/**
 * Why a request is refused before (or instead of) being decided. Thrown by the steps that refuse — intake,
 * authentication, replay guard, idempotency claim — and turned into the caller's format only at the edge
 * (`http/failure-problem.ts` maps each kind to its status and problem type).
 */
export type RefusalKind =
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'invalid-query'
  | 'invalid-json'
  | 'invalid-request'
  | 'invalid-resource-id'
  | 'unauthenticated'
  | 'replayed'
  | 'forbidden'
  | 'in-flight'
  | 'idempotency-key-reused'
  | 'not-configured'
  | 'unavailable';

export interface FieldError {
  /** RFC 6901 JSON pointer into the payload (or '' for the whole request). */
  pointer: string;
  message: string;
}

export interface RefusalDetails {
  /** Field errors, as JSON pointers. */
  errors?: FieldError[];
  /** When trying again makes sense (in-flight, unavailable, not-configured). */
  retryAfterSeconds?: number;
  /** `WWW-Authenticate` challenge for bearer refusals. */
  challenge?: string;
  /** Machine reason for the log line (e.g. `no-matching-signature`); never shown as the message. */
  reason?: string;
  /** For the log line: positions of stored signing-secret versions that are not valid keys (never their values). */
  unusableSecrets?: readonly number[];
  /** Headers the refusal needs beyond status and problem (e.g. `accept-post`). */
  headers?: Record<string, string>;
  /** The resource types this deployment can act on, for a connection id of another type. */
  supportedTypes?: readonly string[];
}

export class Refusal extends Error {
  override readonly name = 'Refusal';
  constructor(
    readonly kind: RefusalKind,
    /** What was wrong and what to do; shown to the caller. */
    message: string,
    readonly details: RefusalDetails = {},
  ) {
    // A refusal is an answer to the caller, not a defect: its stack is never logged or shown, and capturing one
    // was a fifth of the CPU of a request refused at intake (bench (d)). Restored before anything else runs.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}

export function isRefusal(error: unknown): error is Refusal {
  return error instanceof Refusal;
}
