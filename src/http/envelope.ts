import { Refusal } from '../model/refusal.js';
import { visible } from '../model/visible-text.js';
import { declaredTooLarge, isFormContentType, isJsonContentType, MAX_BODY_BYTES, mediaType } from './body.js';
import type { RouteRequest } from './route-types.js';

/**
 * The first checks on every route, before a byte of the body is interpreted or a secret is read: size, content
 * type, and the query string. They throw a Refusal; nothing else runs.
 */

export interface Envelope {
  dryRun: boolean;
  /** `Prefer: respond-async` (RFC 7240): answer 202 at once and continue from the queue. */
  respondAsync: boolean;
  /** The `Idempotency-Key` header, when the caller sent one. */
  idempotencyKey?: string;
}

/** The query parameters a route takes; `code` (the Functions key) is accepted everywhere. */
export type QueryName = 'dryRun';

/**
 * What a read route takes: `dryRun`, as every route does. A read writes nothing either way, so `dryRun=true`
 * changes nothing in its answer; a misspelling is still refused, as on every route.
 */
export const READ_QUERY: readonly QueryName[] = ['dryRun'];

export function checkEnvelope(
  request: RouteRequest,
  accepts: 'json' | 'form',
  query: readonly QueryName[],
): Envelope {
  checkSize(request);
  checkContentType(request, accepts);
  checkContentEncoding(request);
  const dryRun = readQuery(request.url, query).dryRun === 'true';
  const idempotencyKey = readIdempotencyKey(request);
  const respondAsync = prefersAsync(request.header('prefer'));
  return idempotencyKey === undefined ? { dryRun, respondAsync } : { dryRun, respondAsync, idempotencyKey };
}

/** RFC 7240: comma-separated preferences, names case-insensitive, parameters after `;`. */
export function prefersAsync(prefer: string | undefined): boolean {
  return (prefer ?? '').split(',').some((p) => p.split(';')[0]?.trim().toLowerCase() === 'respond-async');
}

export function checkSize(request: RouteRequest): void {
  if (request.bodyTooLarge || declaredTooLarge(request.header('content-length'), MAX_BODY_BYTES)) {
    throw new Refusal(
      'payload-too-large',
      `The body is larger than ${MAX_BODY_BYTES} bytes; approval requests are small JSON documents.`,
    );
  }
}

function checkContentType(request: RouteRequest, accepts: 'json' | 'form'): void {
  const contentType = request.header('content-type');
  const ok = accepts === 'json' ? isJsonContentType(contentType) : isFormContentType(contentType);
  if (ok) return;
  const want = accepts === 'json' ? 'application/json' : 'application/x-www-form-urlencoded';
  // The whole header when only its charset is wrong, so the detail shows what was refused; capped, as sent text.
  const got = mediaType(contentType) && contentType?.trim().slice(0, 100);
  throw new Refusal(
    'unsupported-media-type',
    `Content-Type ${got ? `"${visible(got)}"` : 'is missing; it'} must be ${want} in UTF-8 (no other charset).`,
    { headers: { 'accept-post': want }, reason: 'content-type' },
  );
}

/**
 * The body is taken as sent: a signature covers those bytes, and decoding a compressed body would put work and
 * memory in front of authentication. RFC 9110 §12.5.3: an unsupported content coding is a 415 that says which
 * codings are accepted.
 */
function checkContentEncoding(request: RouteRequest): void {
  const codings = (request.header('content-encoding') ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length === 0) return;
  throw new Refusal(
    'unsupported-media-type',
    `Content-Encoding "${visible(codings.join(', '))}" is not accepted; send the body uncompressed.`,
    { headers: { 'accept-encoding': 'identity' }, reason: 'content-encoding' },
  );
}

const ACCEPTED_VALUES: Record<QueryName, readonly string[]> = { dryRun: ['true', 'false'] };

/**
 * A read (GET or HEAD) takes its query and no body. A signature covers neither method nor path, so a read that
 * took a body would accept the signed bytes of a captured decision, whose replay marks are kept beside the
 * connection's chain, where a read does not look for them. The Functions library drops a read's body before the
 * app sees it, so the body's declared length is refused too (without it, the signature over no bytes fails).
 */
export function checkRead(request: RouteRequest): void {
  readQuery(request.url, READ_QUERY);
  checkSize(request);
  const declared = request.header('content-length')?.trim();
  if (request.body.byteLength > 0 || (declared !== undefined && declared !== '' && declared !== '0')) {
    throw new Refusal('invalid-request', `A ${request.method} takes no body: send it empty.`, {
      errors: [{ pointer: '', message: 'must be empty' }],
    });
  }
}

/**
 * Query parameters are a closed set: an unknown name, a known one spelt in another case, a repeated one or a
 * value other than the accepted ones is refused rather than ignored, because an ignored `?dryrun=true` would
 * run for real.
 */
export function readQuery(url: URL, names: readonly QueryName[]): Partial<Record<QueryName, string>> {
  const accepted = [...names, 'code'];
  const values: Partial<Record<QueryName, string>> = {};
  const seen = new Set<string>();
  for (const [name, value] of url.searchParams) {
    if (!accepted.includes(name)) throw unknownParameter(name, accepted);
    if (seen.has(name))
      throw queryRefusal(`The query parameter ${name} is given more than once; give it once.`, name);
    seen.add(name);
    if (name === 'code') continue;
    const query = name as QueryName;
    if (!ACCEPTED_VALUES[query].includes(value)) {
      throw queryRefusal(
        `The query parameter ${name} must be ${ACCEPTED_VALUES[query].join(' or ')} (lower case), not "${visible(value.slice(0, 40))}".`,
        name,
      );
    }
    values[query] = value;
  }
  return values;
}

function unknownParameter(name: string, accepted: readonly string[]): Refusal {
  const shown = visible(name.slice(0, 40));
  const fold = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');
  const meant = accepted.find((candidate) => fold(candidate) === fold(name));
  const hint = meant === undefined ? '' : ` Did you mean "${meant}"? Names are case-sensitive.`;
  return queryRefusal(
    `Unknown query parameter "${shown}".${hint} This route accepts only ${accepted.map((a) => (a === 'dryRun' ? 'dryRun=true|false' : a)).join(' and ')}; nothing was done.`,
    shown,
  );
}

function queryRefusal(message: string, name: string): Refusal {
  return new Refusal('invalid-query', message, {
    errors: [{ pointer: '', message: `query parameter ${name} is not accepted as sent` }],
    reason: 'query',
  });
}

/** An RFC 8941 sf-string: printable ASCII in quotes, with `\"` and `\\` escaped. */
const SF_STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;
/** A bare key, as many clients send one: visible ASCII without quotes or commas (a comma makes it a list). */
const BARE_KEY = /^[\x21\x23-\x2b\x2d-\x7e]+$/;

/**
 * `Idempotency-Key` (IETF draft: an sf-string, `"…"`; a bare value is taken too): 1–255 characters when present.
 * The key is the string's content, so `"abc"` and `abc` are the same key.
 */
function readIdempotencyKey(request: RouteRequest): string | undefined {
  const value = request.header('idempotency-key');
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const quoted = SF_STRING.exec(trimmed)?.[1]?.replace(/\\(["\\])/g, '$1');
  const key = quoted ?? (BARE_KEY.test(trimmed) ? trimmed : undefined);
  if (key !== undefined && key.length >= 1 && key.length <= 255) return key;
  throw new Refusal(
    'invalid-request',
    'The Idempotency-Key header must be one key of 1-255 characters: a quoted string ("…", printable ASCII) or visible ASCII without quotes or commas.',
    { errors: [{ pointer: '', message: 'header Idempotency-Key is malformed' }] },
  );
}
