import { isRestError } from '@azure/core-rest-pipeline';
import { StoreRequestError, StoreUnavailableError, type StoreError } from './errors.js';

/**
 * One storage call with its error classified: statuses the caller handles as part of its protocol
 * (409 insert conflict, 412 lost ETag race, 404 absent) come back as values; everything else becomes a typed
 * StoreError, so raw SDK errors (whose request objects carry signed headers) never leak past the store.
 */

export type CallResult<T> = { ok: true; value: T } | { ok: false; status: number };

const DEFAULT_RETRY_AFTER_SECONDS = 5;

export async function tableCall<T>(
  operation: string,
  fn: () => Promise<T>,
  expected: readonly number[],
): Promise<CallResult<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return classify(operation, error, expected);
  }
}

/** An expected status as a value; anything else thrown as a StoreError. */
export function classify(
  operation: string,
  error: unknown,
  expected: readonly number[],
): { ok: false; status: number } {
  const status = statusOf(error);
  if (status !== undefined && expected.includes(status)) return { ok: false, status };
  throw toStoreError(operation, error);
}

export function statusOf(error: unknown): number | undefined {
  return isRestError(error) ? error.statusCode : undefined;
}

/** The table itself is missing (deleted, or an emulator restarted empty), as opposed to a missing entity. */
export function isTableNotFound(error: unknown): boolean {
  if (!isRestError(error) || error.statusCode !== 404) return false;
  // Entity calls carry the service's code only in the body, which the SDK puts into the message.
  return error.code === 'TableNotFound' || error.message.includes('TableNotFound');
}

export function toStoreError(operation: string, error: unknown): StoreError {
  const status = statusOf(error);
  // 401/403 (RBAC not granted yet), 404 (table missing), 408, 429 and 5xx can all heal on their own.
  const transient =
    status === undefined ||
    status === 401 ||
    status === 403 ||
    status === 404 ||
    status === 408 ||
    status === 429 ||
    status >= 500;
  if (!transient) return new StoreRequestError(operation, status, { cause: error });
  const detail = detailOf(error);
  return new StoreUnavailableError(operation, status, retryAfterOf(error), {
    cause: error,
    ...(detail === undefined ? {} : { detail }),
  });
}

function retryAfterOf(error: unknown): number {
  if (!isRestError(error)) return DEFAULT_RETRY_AFTER_SECONDS;
  const header = error.response?.headers.get('retry-after');
  const seconds = header === undefined ? Number.NaN : Number.parseInt(header, 10);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 120) : DEFAULT_RETRY_AFTER_SECONDS;
}

/** A short, header-free description: the error code or name, never the request. */
function detailOf(error: unknown): string | undefined {
  if (isRestError(error)) return error.code;
  if (error instanceof Error) return error.name === 'Error' ? error.message.slice(0, 200) : error.name;
  return undefined;
}
