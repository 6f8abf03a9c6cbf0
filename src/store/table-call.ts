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
    const status = statusOf(error);
    if (status !== undefined && expected.includes(status)) return { ok: false, status };
    throw toStoreError(operation, error);
  }
}

export async function tableCallOrThrow<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toStoreError(operation, error);
  }
}

export function statusOf(error: unknown): number | undefined {
  return isRestError(error) ? error.statusCode : undefined;
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
