import type { Logger } from '../logger.js';
import {
  declaredTooLarge,
  decodeUtf8,
  isFormContentType,
  isJsonContentType,
  mediaType,
  MAX_BODY_BYTES,
} from './body.js';
import { problem, problemResponse } from './problem.js';
import type { RouteRequest, RouteResponse } from './route-types.js';

/** Per-request identity every step logs with and every answer carries. */
export interface RequestScope {
  requestId: string;
  logger: Logger;
  started: number;
}

/**
 * The first check on every route, before a byte is interpreted: size, then content type. Returns the refusal,
 * or undefined when the body may be read.
 */
export function checkEnvelope(
  request: RouteRequest,
  scope: RequestScope,
  accepts: 'json' | 'form',
): RouteResponse | undefined {
  if (request.bodyTooLarge || declaredTooLarge(request.header('content-length'), MAX_BODY_BYTES)) {
    scope.logger.warn('request.refused', { status: 413 });
    return problemResponse(
      problem(
        'payloadTooLarge',
        scope.requestId,
        `The body is larger than ${MAX_BODY_BYTES} bytes; approval requests are small JSON documents.`,
      ),
    );
  }
  const contentType = request.header('content-type');
  const ok = accepts === 'json' ? isJsonContentType(contentType) : isFormContentType(contentType);
  if (!ok) {
    const want = accepts === 'json' ? 'application/json (UTF-8)' : 'application/x-www-form-urlencoded';
    scope.logger.warn('request.refused', { status: 415, contentType: mediaType(contentType) });
    return problemResponse(
      problem(
        'unsupportedMediaType',
        scope.requestId,
        `Content-Type ${contentType ? `"${mediaType(contentType)}"` : 'is missing; it'} must be ${want}.`,
      ),
      { 'accept-post': want.split(' ')[0] ?? want },
    );
  }
  return undefined;
}

export type DryRunFlag = { ok: true; dryRun: boolean } | { ok: false; response: RouteResponse };

/** `?dryRun=true`: everything but the PUT. Anything but true/false/1/0 is refused rather than guessed. */
export function readDryRun(url: URL, scope: RequestScope): DryRunFlag {
  const values = url.searchParams.getAll('dryRun');
  if (values.length === 0) return { ok: true, dryRun: false };
  const value = values.length === 1 ? values[0]?.toLowerCase() : undefined;
  if (value === 'true' || value === '1' || value === '') return { ok: true, dryRun: true };
  if (value === 'false' || value === '0') return { ok: true, dryRun: false };
  return {
    ok: false,
    response: problemResponse(
      problem('invalidRequest', scope.requestId, 'The dryRun query parameter must be true or false, once.', {
        errors: [{ pointer: '', message: 'query parameter dryRun must be true or false' }],
      }),
    ),
  };
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; response: RouteResponse };

/** Strict UTF-8, one JSON document, then the source's schema: every error listed as a JSON pointer. */
export function parseJsonBody<T>(
  body: Uint8Array,
  validate: (
    data: unknown,
  ) => { ok: true; value: T } | { ok: false; errors: { pointer: string; message: string }[] },
  scope: RequestScope,
  what: string,
): Parsed<T> {
  const text = decodeUtf8(body);
  let data: unknown;
  try {
    if (text === undefined) throw new Error('body is not valid UTF-8');
    data = JSON.parse(text) as unknown;
  } catch (error) {
    const message = error instanceof Error ? error.message : 'unparseable';
    return {
      ok: false,
      response: problemResponse(
        problem('invalidJson', scope.requestId, `The body must be one UTF-8 JSON object: ${message}.`, {
          errors: [{ pointer: '', message }],
        }),
      ),
    };
  }
  const valid = validate(data);
  if (valid.ok) return valid;
  return {
    ok: false,
    response: problemResponse(
      problem(
        'invalidRequest',
        scope.requestId,
        `The body does not match the ${what} schema: ${valid.errors.length} error(s), listed in "errors".`,
        { errors: valid.errors },
      ),
    ),
  };
}

export type IdempotencyKeyHeader = { ok: true; key?: string } | { ok: false; response: RouteResponse };

/** `Idempotency-Key` (IETF draft): 1–255 visible ASCII characters when present. */
export function readIdempotencyKey(request: RouteRequest, scope: RequestScope): IdempotencyKeyHeader {
  const key = request.header('idempotency-key');
  if (key === undefined) return { ok: true };
  const unquoted = key.trim().replace(/^"(.*)"$/, '$1');
  if (/^[\x21-\x7e]{1,255}$/.test(unquoted)) return { ok: true, key: unquoted };
  return {
    ok: false,
    response: problemResponse(
      problem(
        'invalidRequest',
        scope.requestId,
        'The Idempotency-Key header must be 1-255 visible ASCII characters.',
        {
          errors: [{ pointer: '', message: 'header Idempotency-Key is malformed' }],
        },
      ),
    ),
  };
}
