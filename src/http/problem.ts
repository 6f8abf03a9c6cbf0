import type { PolicyReason } from '../model/approval.js';
import type { RouteResponse } from './route-types.js';
import { answerJson } from './json-text.js';

/** RFC 9457 problem details, as every route answers errors (docs/errors.md). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The request id: the key to the logs and the audit record. */
  instance: string;
  errors?: { pointer: string; message: string }[];
  reasons?: PolicyReason[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Retry-After of a 503 for a configuration or policy that did not load: fixed by a deployment, not in seconds. */
export const NOT_CONFIGURED_RETRY_SECONDS = 60;

/** For answers only their caller may read (a record, an outcome, or that there is none): no cache keeps them. */
export const NOT_STORED: Readonly<Record<string, string>> = { 'cache-control': 'no-store' };

/** Problem types, documented in docs/errors.md. */
export const PROBLEM_TYPES = {
  invalidJson: { slug: 'invalid-json', title: 'Request body is not valid JSON', status: 400 },
  invalidRequest: { slug: 'invalid-request', title: 'Request does not match the schema', status: 400 },
  invalidResourceId: { slug: 'invalid-resource-id', title: 'Connection id is not valid', status: 400 },
  unauthorized: { slug: 'unauthorized', title: 'Caller is not authenticated', status: 401 },
  forbidden: { slug: 'forbidden', title: 'Caller is not allowed', status: 403 },
  policyDenied: { slug: 'policy-denied', title: 'Policy denies this request', status: 403 },
  notFound: { slug: 'not-found', title: 'Not found', status: 404 },
  methodNotAllowed: { slug: 'method-not-allowed', title: 'Method not allowed', status: 405 },
  transitionNotAllowed: { slug: 'transition-not-allowed', title: 'Transition not allowed', status: 409 },
  // 502, not 409: 409 is this API's own (a transition, the same request in flight); a conflict Resource
  // Manager reports is an error of the dependency, told apart by its type.
  armConflict: { slug: 'arm-conflict', title: 'Resource Manager reports a conflict', status: 502 },
  inFlight: { slug: 'in-flight', title: 'The same request is still in flight', status: 409 },
  payloadTooLarge: { slug: 'payload-too-large', title: 'Request body is too large', status: 413 },
  unsupportedMediaType: { slug: 'unsupported-media-type', title: 'Content type not supported', status: 415 },
  idempotencyMismatch: {
    slug: 'idempotency-key-reused',
    title: 'Idempotency key reused with a different payload',
    status: 422,
  },
  armError: { slug: 'arm-error', title: 'Resource Manager refused the request', status: 502 },
  armOperationFailed: {
    slug: 'arm-operation-failed',
    title: "The provider's long-running operation failed",
    status: 502,
  },
  dependencyUnavailable: {
    slug: 'dependency-unavailable',
    title: 'A dependency is unavailable',
    status: 503,
  },
  notConfigured: { slug: 'not-configured', title: 'The service is not configured', status: 503 },
  internal: { slug: 'internal-error', title: 'Internal error', status: 500 },
} as const;

export type ProblemKind = keyof typeof PROBLEM_TYPES;

export const PROBLEM_TYPE_BASE = 'urn:private-link-approver:problem:';

export function problem(
  kind: ProblemKind,
  requestId: string,
  detail: string,
  extra: Partial<Omit<Problem, 'type' | 'title' | 'instance'>> = {},
): Problem {
  const t = PROBLEM_TYPES[kind];
  return {
    type: PROBLEM_TYPE_BASE + t.slug,
    title: t.title,
    status: t.status,
    detail,
    instance: requestId,
    ...extra,
  };
}

export function problemResponse(p: Problem, headers: Record<string, string> = {}): RouteResponse {
  return {
    status: p.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, 'x-request-id': p.instance, ...headers },
    body: answerJson(p, { ascii: true }),
  };
}

export function jsonResponse(
  status: number,
  body: unknown,
  requestId: string,
  headers: Record<string, string> = {},
): RouteResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId, ...headers },
    body: answerJson(body),
  };
}
