import { ArmError, ArmResponseError, ArmUnavailableError } from '../arm/arm-errors.js';
import type { CloudErrorBody } from '../arm/arm-errors.js';
import type { Problem } from '../http/problem.js';
import { problem } from '../http/problem.js';

/** A dependency other than ARM (Key Vault, storage) failed; carries when to try again. */
export interface RetryableDependencyError extends Error {
  retryAfterSeconds: number;
}

export function isRetryableDependencyError(error: unknown): error is RetryableDependencyError {
  return (
    error instanceof Error &&
    typeof (error as Partial<RetryableDependencyError>).retryAfterSeconds === 'number'
  );
}

export interface FailureProblem {
  problem: Problem;
  headers: Record<string, string>;
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

/**
 * Maps a failure after validation to the DESIGN §2 status table. ARM's code, message and request id stay in the
 * detail so an operator can take them to Azure support.
 */
export function failureToProblem(error: unknown, requestId: string): FailureProblem {
  if (error instanceof ArmError) {
    const arm = {
      status: error.status,
      code: error.code,
      message: error.cloudError.message,
      requestId: error.armRequestId,
      correlationId: error.correlationId,
    };
    const said = armDetail(error.status, error.cloudError, error.armRequestId);
    if (error.status === 404) {
      return {
        problem: problem(
          'notFound',
          requestId,
          `Resource Manager says the connection or its cluster does not exist (${said}). Check the connectionId.`,
          { arm },
        ),
        headers: {},
      };
    }
    if (error.status === 409) {
      return {
        problem: problem(
          'armConflict',
          requestId,
          `Resource Manager refused the change because of the resource's current state (${said}). Wait for the cluster's running operation to finish, then retry.`,
          { arm },
        ),
        headers: {},
      };
    }
    const hint =
      error.status === 401 || error.status === 403
        ? ' Check that the app identity holds the approver role on this cluster (docs/deploy.md).'
        : ' Resource Manager did not apply this request; see its message.';
    return {
      problem: problem('armError', requestId, `Resource Manager refused the request (${said}).${hint}`, {
        arm,
      }),
      headers: {},
    };
  }
  if (error instanceof ArmUnavailableError) {
    return {
      problem: problem(
        'dependencyUnavailable',
        requestId,
        `${error.message}. ${
          error.mayHaveApplied
            ? 'The change was sent and may have been applied: check the connection (or retry with the same idempotency key — the retry reads the state first and reports it)'
            : 'Nothing was changed'
        }; try again after ${error.retryAfterSeconds} s${error.armRequestId ? ` (last ARM request id ${error.armRequestId})` : ''}.`,
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
    };
  }
  if (error instanceof ArmResponseError) {
    return {
      problem: problem(
        'armError',
        requestId,
        `${error.message}${error.armRequestId ? ` (ARM request id ${error.armRequestId})` : ''}. Check ARM_ENDPOINT points at Resource Manager.`,
      ),
      headers: {},
    };
  }
  if (isRetryableDependencyError(error)) {
    return {
      problem: problem(
        'dependencyUnavailable',
        requestId,
        `${error.message}. Try again after ${error.retryAfterSeconds} s.`,
      ),
      headers: { 'retry-after': String(error.retryAfterSeconds) },
    };
  }
  return {
    problem: problem(
      'internal',
      requestId,
      'An unexpected error occurred; nothing more is known to the caller. Give the request id to the operator: the logs hold the cause.',
    ),
    headers: {},
  };
}
