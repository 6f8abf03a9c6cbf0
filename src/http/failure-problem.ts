import {
  ArmError,
  ArmOperationFailedError,
  ArmOperationRunningError,
  ArmResponseError,
  ArmUnavailableError,
  ConnectionSettlingError,
} from '../arm/arm-errors.js';
import type { CloudErrorBody } from '../arm/arm-errors.js';
import type { FieldError, Refusal, RefusalKind } from '../model/refusal.js';
import { visible } from '../model/visible-text.js';
import { isRefusal } from '../model/refusal.js';
import { ConnectionBusyError, StoreUnavailableError } from '../store/errors.js';
import { InstanceBusyError } from '../model/instance-busy.js';
import { WorkAbandonedError } from '../model/work-abandoned.js';
import { SecretsUnavailableError } from '../secrets/errors.js';
import type { Problem, ProblemKind } from './problem.js';
import { problem, PROBLEM_TYPES } from './problem.js';

/**
 * The one place a failure becomes an HTTP problem: refusals by their kind, Resource Manager errors by the status
 * table, dependencies by 503 with Retry-After. ARM's code, message and request id stay in the detail so an
 * operator can take them to Azure support. Anything unknown is a 500 that says nothing but the request id.
 */

export interface FailureProblem {
  problem: Problem;
  headers: Record<string, string>;
  /** For the request's one log line. */
  log: Record<string, unknown>;
}

const REFUSAL_PROBLEMS: Record<RefusalKind, ProblemKind> = {
  'payload-too-large': 'payloadTooLarge',
  'unsupported-media-type': 'unsupportedMediaType',
  'invalid-query': 'invalidRequest',
  'invalid-json': 'invalidJson',
  'invalid-request': 'invalidRequest',
  'invalid-resource-id': 'invalidResourceId',
  unauthenticated: 'unauthorized',
  replayed: 'unauthorized',
  forbidden: 'forbidden',
  'in-flight': 'inFlight',
  'idempotency-key-reused': 'idempotencyMismatch',
  'not-configured': 'notConfigured',
  unavailable: 'dependencyUnavailable',
};

/** Field errors listed at most: one per unknown member of a 64 KiB body would make the answer bigger than it. */
const MAX_ERRORS = 20;
const MAX_POINTER = 256;

/**
 * The field errors as shown: at most MAX_ERRORS (then a count of the rest), messages with anything invisible
 * escaped. Pointers stay exact JSON pointers (RFC 6901), so each still resolves in the body sent; the answer's JSON
 * text escapes what is invisible in them (answerJson). One too long is cut before a whole reference token, so it
 * points at the member's parent, and its message says so.
 */
function shownErrors(errors: readonly FieldError[]): FieldError[] {
  const shown = errors
    .slice(0, MAX_ERRORS)
    .map(({ pointer, message }) => shownError(pointer, visible(message)));
  const more = errors.length - shown.length;
  return more > 0
    ? [...shown, { pointer: '', message: `${more} more not listed; fix these and send again` }]
    : shown;
}

function shownError(pointer: string, message: string): FieldError {
  if (pointer.length <= MAX_POINTER) return { pointer, message };
  const parent = pointer.slice(0, Math.max(0, pointer.lastIndexOf('/', MAX_POINTER)));
  return {
    pointer: parent,
    message: `${message} (at a member inside this one: its name is too long to show)`,
  };
}

/**
 * A 401 names, in `WWW-Authenticate`, a scheme the route takes (RFC 9110): the refusal's own challenge (a bearer
 * token's carries its error), else `scheme`, the route's: `Bearer` on every route that takes a token, `HMAC` on
 * Teams', `Slack-Signature` on Slack's.
 */
function refusalProblem(error: Refusal, requestId: string, scheme: string): FailureProblem {
  const {
    errors,
    retryAfterSeconds,
    challenge,
    reason,
    headers = {},
    supportedTypes,
    unusableSecrets,
  } = error.details;
  const out: Record<string, string> = { ...headers };
  if (retryAfterSeconds !== undefined) out['retry-after'] = String(retryAfterSeconds);
  const kind = REFUSAL_PROBLEMS[error.kind];
  const authenticate = challenge ?? (PROBLEM_TYPES[kind].status === 401 ? scheme : undefined);
  if (authenticate !== undefined) out['www-authenticate'] = authenticate;
  return {
    problem: problem(kind, requestId, error.message, {
      ...(errors ? { errors: shownErrors(errors) } : {}),
      ...(supportedTypes ? { supportedTypes } : {}),
    }),
    headers: out,
    log: {
      refused: error.kind,
      ...(reason === undefined ? {} : { reason }),
      ...(unusableSecrets === undefined ? {} : { unusableSecrets }),
    },
  };
}

/** The one HTTP problem of any failure. */
export function failureProblem(error: unknown, requestId: string, scheme = 'Bearer'): FailureProblem {
  if (isRefusal(error)) return refusalProblem(error, requestId, scheme);
  if (error instanceof ConnectionBusyError) return busy(error, requestId);
  if (error instanceof InstanceBusyError) return instanceBusy(error, requestId);
  if (error instanceof WorkAbandonedError) {
    const detail = `${error.message}. Give the request id to the operator: the logs hold the cause.`;
    return { problem: problem('internal', requestId, detail), headers: {}, log: { failed: 'abandoned' } };
  }
  if (error instanceof ArmError) return armRefused(error, requestId);
  if (error instanceof ArmUnavailableError) return armUnavailable(error, requestId);
  if (error instanceof ArmOperationRunningError) return operationRunning(error, requestId);
  if (error instanceof ArmOperationFailedError) return operationFailed(error, requestId);
  if (error instanceof ConnectionSettlingError) return settling(error, requestId);
  if (error instanceof ArmResponseError) {
    return {
      problem: problem(
        'armError',
        requestId,
        `${error.message}${error.armRequestId ? ` (ARM request id ${error.armRequestId})` : ''}. Check ARM_ENDPOINT points at Resource Manager.`,
      ),
      headers: {},
      log: { failed: 'arm-response' },
    };
  }
  if (error instanceof StoreUnavailableError || error instanceof SecretsUnavailableError) {
    const what = error instanceof StoreUnavailableError ? 'storage' : 'keyVault';
    return {
      problem: problem(
        'dependencyUnavailable',
        requestId,
        `${error.message}. Nothing was changed; try again after ${error.retryAfterSeconds} s.`,
      ),
      headers: { 'retry-after': String(error.retryAfterSeconds) },
      log: { failed: what },
    };
  }
  return {
    problem: problem(
      'internal',
      requestId,
      'An unexpected error occurred; nothing more is known to the caller. Give the request id to the operator: the logs hold the cause.',
    ),
    headers: {},
    log: { failed: 'internal', error: error instanceof Error ? error.name : typeof error },
  };
}

function instanceBusy(error: InstanceBusyError, requestId: string): FailureProblem {
  return {
    problem: problem('dependencyUnavailable', requestId, error.message),
    headers: { 'retry-after': String(error.retryAfterSeconds) },
    log: { failed: 'instance-busy', ofConnection: error.ofConnection, inAll: error.inAll },
  };
}

function busy(error: ConnectionBusyError, requestId: string): FailureProblem {
  return {
    problem: problem(
      'inFlight',
      requestId,
      `Another decision on this connection is still being applied; nothing was done. Retry after ${error.retryAfterSeconds} s: the retry is judged on the state that decision leaves.`,
    ),
    headers: { 'retry-after': String(error.retryAfterSeconds) },
    log: { refused: 'connection-busy' },
  };
}

function armDetail(
  status: number | undefined,
  error: CloudErrorBody | undefined,
  armRequestId?: string,
): string {
  const parts: string[] = [];
  if (status !== undefined) parts.push(`status ${status}`);
  if (error?.code) parts.push(`code ${error.code}`);
  if (error?.message) parts.push(`message "${error.message}"`);
  if (armRequestId) parts.push(`ARM request id ${armRequestId}`);
  return parts.join(', ');
}

function armRefused(error: ArmError, requestId: string): FailureProblem {
  const arm = {
    status: error.status,
    code: error.code,
    message: error.cloudError.message,
    requestId: error.armRequestId,
    correlationId: error.correlationId,
  };
  const said = armDetail(error.status, error.cloudError, error.armRequestId);
  const log = { failed: 'arm', armStatus: error.status, armCode: error.code };
  if (error.status === 404) {
    const detail = `Resource Manager says the connection or its resource does not exist (${said}). Check the connectionId.`;
    return { problem: problem('notFound', requestId, detail, { arm }), headers: {}, log };
  }
  if (error.status === 409) {
    const detail = `Resource Manager refused the change because of the resource's current state (${said}). Its message says what stands in the way; retry once that is done.`;
    return { problem: problem('armConflict', requestId, detail, { arm }), headers: {}, log };
  }
  const detail = `Resource Manager refused the request (${said}).${refusalHint(error)}`;
  return { problem: problem('armError', requestId, detail, { arm }), headers: {}, log };
}

/** What the operator does about a refusal, by what Resource Manager said. */
function refusalHint(error: ArmError): string {
  const code = (error.code ?? '').toLowerCase();
  if (code === 'linkedauthorizationfailed')
    return ' A permission is missing on a linked scope, not on this resource: the message names the action and scope; grant it there.';
  if (error.status === 401)
    return " The app's token was not accepted: check the managed identity (AZURE_CLIENT_ID) and ARM_SCOPE (docs/deploy.md).";
  if (error.status === 403)
    return ' Check that the app identity holds the approver role on this resource (and the read of its long-running operations, for types that need it) and that its type is enabled (docs/deploy.md).';
  return ' Resource Manager did not apply this request; see its message.';
}

function armUnavailable(error: ArmUnavailableError, requestId: string): FailureProblem {
  const outcome = error.mayHaveApplied
    ? 'The change was sent and may have been applied: check the connection (or retry with the same idempotency key — the retry reads the state first and reports it)'
    : 'Nothing was changed';
  const last = error.armRequestId ? ` (last ARM request id ${error.armRequestId})` : '';
  return {
    problem: problem(
      'dependencyUnavailable',
      requestId,
      `${error.message}. ${outcome}; try again after ${error.retryAfterSeconds} s${last}.`,
      {
        arm: {
          status: error.lastStatus,
          code: error.cloudError?.code,
          requestId: error.armRequestId,
          correlationId: error.correlationId,
          mayHaveApplied: error.mayHaveApplied,
        },
      },
    ),
    headers: { 'retry-after': String(error.retryAfterSeconds) },
    log: { failed: 'arm-unavailable', armStatus: error.lastStatus, mayHaveApplied: error.mayHaveApplied },
  };
}

function operationRunning(error: ArmOperationRunningError, requestId: string): FailureProblem {
  return {
    problem: problem(
      'dependencyUnavailable',
      requestId,
      `Resource Manager accepted the change and the provider is still applying it (a long-running operation). Check the connection after ${error.retryAfterSeconds} s, or send the same request again: it reads the state first and reports it.`,
      { arm: { correlationId: error.correlationId, mayHaveApplied: true } },
    ),
    headers: { 'retry-after': String(error.retryAfterSeconds) },
    log: { failed: 'arm-operation-running' },
  };
}

function operationFailed(error: ArmOperationFailedError, requestId: string): FailureProblem {
  const arm = {
    code: error.cloudError.code,
    message: error.cloudError.message,
    correlationId: error.correlationId,
    mayHaveApplied: error.mayHaveApplied,
  };
  const said = armDetail(undefined, error.cloudError);
  return {
    problem: problem(
      'armOperationFailed',
      requestId,
      error.mayHaveApplied
        ? `Resource Manager accepted the change, but its operation could not be followed (${said}): the change may still be applied. Check the connection; if this repeats, grant the app the provider's operation read (docs/deploy.md).`
        : `The provider's operation ended ${error.status} (${said}); the connection was not changed. See the provider's message; retry once its cause is fixed.`,
      { arm },
    ),
    headers: {},
    log: { failed: 'arm-operation', armCode: error.cloudError.code },
  };
}

function settling(error: ConnectionSettlingError, requestId: string): FailureProblem {
  return {
    problem: problem(
      'inFlight',
      requestId,
      `The connection is ${error.provisioningState}: a change to it is still being applied, so nothing was done. Retry after ${error.retryAfterSeconds} s; the retry is judged on the state it settles in.`,
    ),
    headers: { 'retry-after': String(error.retryAfterSeconds) },
    log: { refused: 'connection-settling', provisioningState: error.provisioningState },
  };
}

/** The HTTP status an outcome's failure is answered with (the audit record keeps it too). */
export function failureStatus(error: unknown): number {
  return failureProblem(error, '').problem.status;
}
