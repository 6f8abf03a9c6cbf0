import {
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { AuthConfigError, SigningKeysUnavailableError } from './auth-error.js';

/**
 * Verifies Microsoft Entra ID bearer tokens for this API: signature against the tenant's published keys,
 * audience, lifetime, issuer (v1 and v2 forms), tenant allow-list, caller allow-list, optional app role.
 *
 * Keys and issuers come from the tenant's OpenID metadata, read lazily once per verifier and cached; the
 * JWKS is cached by jose (refetched on an unknown `kid`, after a cooldown). When metadata or keys cannot be
 * read the answer is 503, never "allow".
 */

export type EntraAlgorithm = 'RS256' | 'PS256' | 'ES256';

export interface EntraVerifierOptions {
  tenantId: string;
  /** The only `aud` accepted (the API's client id or App ID URI, as configured). */
  audience: string;
  /** e.g. https://login.microsoftonline.com; http is accepted for loopback stand-ins only. */
  authorityHost: string;
  allowedTenants: readonly string[];
  /** `oid`, `appid` or `azp` values allowed to call. Empty: every bearer caller is refused (403). */
  allowedCallers: readonly string[];
  requiredRole?: string;
  /** Default 120. */
  clockSkewSeconds?: number;
  /** Epoch ms; drives token lifetime checks and the metadata retry delay. */
  now: () => number;
  /** Used for metadata and JWKS requests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Default ['RS256'] (what Entra signs access tokens with). */
  algorithms?: readonly EntraAlgorithm[];
  /** After metadata or keys fail to load, answer 503 without retrying for this long. Default 5000. */
  retryAfterMs?: number;
  /** Per request to the metadata and JWKS endpoints. Default 5000. */
  fetchTimeoutMs?: number;
  /** Minimum time between JWKS refetches caused by an unknown `kid`. Default 30000 (jose's default). */
  jwksCooldownMs?: number;
  /** Keys older than this are refetched before use. Default 600000 (jose's default). */
  jwksCacheMaxAgeMs?: number;
}

/** Claims kept as evidence for policy and audit; never the raw token. */
export interface EntraClaimsEvidence {
  iss: string;
  aud: string | string[];
  tid: string;
  oid?: string;
  sub?: string;
  azp?: string;
  appid?: string;
  idtyp?: string;
  ver?: string;
  iat?: number;
  exp?: number;
  uti?: string;
}

/** Spread into a CallerIdentity together with `source` and `scheme: 'entra'`. */
export interface EntraIdentity {
  /** `oid`, else `azp`, else `appid`. */
  id: string;
  name?: string;
  tenantId: string;
  roles: readonly string[];
  groups: readonly string[];
  /** The token named a groups source instead of listing groups (too many to fit): `groups` is incomplete. */
  groupsOverage: boolean;
  claims: EntraClaimsEvidence;
}

export type EntraErrorCode =
  'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'access_denied' | 'temporarily_unavailable';

export type EntraFailureReason =
  | 'missing-token'
  | 'malformed-header'
  | 'malformed-token'
  | 'unsupported-alg'
  | 'unknown-key'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-audience'
  | 'wrong-issuer'
  | 'issuer-tenant-mismatch'
  | 'tenant-not-allowed'
  | 'missing-claim'
  | 'invalid-claims'
  | 'caller-not-allowed'
  | 'missing-role'
  | 'signing-keys-unavailable';

export interface EntraFailure {
  ok: false;
  status: 401 | 403 | 503;
  error: EntraErrorCode;
  reason: EntraFailureReason;
  /** What was wrong and what to do; safe to return to the caller. */
  message: string;
  /** With 503: when trying again makes sense. */
  retryAfterSeconds?: number;
}

export type EntraResult = { ok: true; identity: EntraIdentity } | EntraFailure;

export interface EntraVerifier {
  /** Resolves with a result for every request; rejects only on a defect of ours, never on a bad token. */
  verify(authorization: string | null | undefined): Promise<EntraResult>;
}

/** `{prefix}{tenant id}{suffix}`: how an issuer names its tenant. */
interface IssuerTemplate {
  prefix: string;
  suffix: string;
}

interface TenantMetadata {
  v1: IssuerTemplate;
  v2: IssuerTemplate;
  keys: JWTVerifyGetKey;
}

const DEFAULTS = {
  clockSkewSeconds: 120,
  algorithms: ['RS256'] as const,
  retryAfterMs: 5_000,
  fetchTimeoutMs: 5_000,
  jwksCooldownMs: 30_000,
  jwksCacheMaxAgeMs: 600_000,
};

/** Bearer tokens from Entra are a few KiB even with many groups; anything far larger is not one of them. */
const MAX_TOKEN_LENGTH = 32 * 1024;
const SUPPORTED_ALGORITHMS: readonly string[] = ['RS256', 'PS256', 'ES256'];
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BEARER = /^Bearer +(\S+) *$/i;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(?:\.[0-9]{1,3}){3}$/.test(hostname);
}

/** https anywhere; http only where nobody else can answer (loopback stand-ins). */
function isTrustedUrl(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname));
}

function normaliseAuthorityHost(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AuthConfigError(`Entra authority host '${value}' is not a URL.`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new AuthConfigError('Entra authority host must not carry a query, fragment or credentials.');
  }
  if (!isTrustedUrl(url)) {
    throw new AuthConfigError(
      `Entra authority host must use https (http is accepted for loopback addresses only): got ${url.protocol}//${url.host}.`,
    );
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * Finds the tenant in a metadata `issuer`: the `{tenantid}` placeholder (multi-tenant documents), the
 * configured tenant, or a GUID path segment (when the tenant was configured by domain name).
 */
function issuerTemplate(issuer: string, configuredTenant: string): IssuerTemplate | undefined {
  const segments = issuer.split('/');
  // Segments 0-2 are the scheme and the host ("https:", "", "host").
  for (let index = 3; index < segments.length; index++) {
    const segment = segments[index] ?? '';
    const lower = segment.toLowerCase();
    if (lower === '{tenantid}' || lower === configuredTenant.toLowerCase() || GUID.test(segment)) {
      return {
        prefix: segments.slice(0, index).join('/') + '/',
        suffix: index + 1 < segments.length ? '/' + segments.slice(index + 1).join('/') : '',
      };
    }
  }
  return undefined;
}

const fillIssuer = (template: IssuerTemplate, tenant: string): string =>
  template.prefix + tenant + template.suffix;

function tenantInIssuer(template: IssuerTemplate, issuer: string): string | undefined {
  const length = issuer.length - template.prefix.length - template.suffix.length;
  if (length <= 0 || !issuer.startsWith(template.prefix) || !issuer.endsWith(template.suffix))
    return undefined;
  const tenant = issuer.slice(template.prefix.length, template.prefix.length + length);
  return tenant.includes('/') ? undefined : tenant;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

/** Echoing caller-supplied values helps them fix requests; the cap keeps messages (and logs) bounded. */
function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return `'${text.length > 120 ? `${text.slice(0, 117)}...` : text}'`;
}

const isoFromSeconds = (seconds: unknown): string =>
  typeof seconds === 'number' && Number.isFinite(seconds)
    ? new Date(seconds * 1000).toISOString()
    : 'an unknown time';

const stringClaim = (payload: JWTPayload, name: string): string | undefined => {
  const value = payload[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

const stringList = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

function unauthorized(reason: EntraFailureReason, message: string): EntraFailure {
  const error: EntraErrorCode =
    reason === 'missing-token' || reason === 'malformed-header' ? 'invalid_request' : 'invalid_token';
  return { ok: false, status: 401, error, reason, message };
}

function forbidden(reason: 'caller-not-allowed' | 'missing-role', message: string): EntraFailure {
  return {
    ok: false,
    status: 403,
    error: reason === 'missing-role' ? 'insufficient_scope' : 'access_denied',
    reason,
    message,
  };
}

function unavailable(message: string, retryAfterMs: number): EntraFailure {
  return {
    ok: false,
    status: 503,
    error: 'temporarily_unavailable',
    reason: 'signing-keys-unavailable',
    message,
    retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
  };
}

export function createEntraVerifier(options: EntraVerifierOptions): EntraVerifier {
  const authorityHost = normaliseAuthorityHost(options.authorityHost);
  const { tenantId, audience, requiredRole, now } = options;
  if (!TENANT_ID.test(tenantId)) {
    throw new AuthConfigError(
      `Entra tenant id '${tenantId}' must be a GUID, a domain name, or 'organizations'.`,
    );
  }
  if (audience.trim() === '') throw new AuthConfigError('Entra audience must not be empty.');
  const clockSkewSeconds = options.clockSkewSeconds ?? DEFAULTS.clockSkewSeconds;
  if (!Number.isFinite(clockSkewSeconds) || clockSkewSeconds < 0 || clockSkewSeconds > 600) {
    throw new AuthConfigError('Entra clock skew must be between 0 and 600 seconds.');
  }
  const algorithms = [...(options.algorithms ?? DEFAULTS.algorithms)];
  if (algorithms.length === 0 || algorithms.some((alg) => !SUPPORTED_ALGORITHMS.includes(alg))) {
    throw new AuthConfigError(
      `Entra algorithms must be a non-empty subset of ${SUPPORTED_ALGORITHMS.join(', ')}.`,
    );
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const retryAfterMs = options.retryAfterMs ?? DEFAULTS.retryAfterMs;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? DEFAULTS.fetchTimeoutMs;
  // Tenant and object ids are GUIDs, which Entra emits in lower case but humans paste in any case.
  const allowedTenants = new Set(options.allowedTenants.map((tenant) => tenant.toLowerCase()));
  const allowedCallers = new Set(options.allowedCallers.map((caller) => caller.toLowerCase()));

  const v2MetadataUrl = `${authorityHost}/${tenantId}/v2.0/.well-known/openid-configuration`;
  const v1MetadataUrl = `${authorityHost}/${tenantId}/.well-known/openid-configuration`;

  async function fetchDocument(url: string): Promise<Record<string, unknown>> {
    let body: unknown;
    try {
      const response = await fetchImpl(url, {
        headers: { accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(fetchTimeoutMs),
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error(`HTTP ${response.status}`);
      }
      body = await response.json();
    } catch (error) {
      throw new SigningKeysUnavailableError(
        `OpenID metadata ${url} could not be read: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new SigningKeysUnavailableError(`OpenID metadata ${url} is not a JSON object.`);
    }
    return body as Record<string, unknown>;
  }

  function templateFrom(document: Record<string, unknown>, url: string): IssuerTemplate {
    const issuer = document.issuer;
    const template = typeof issuer === 'string' ? issuerTemplate(issuer, tenantId) : undefined;
    if (template === undefined) {
      throw new SigningKeysUnavailableError(`OpenID metadata ${url} has no issuer naming a tenant.`);
    }
    return template;
  }

  async function loadMetadata(): Promise<TenantMetadata> {
    const [v2, v1] = await Promise.all([fetchDocument(v2MetadataUrl), fetchDocument(v1MetadataUrl)]);
    let jwksUrl: URL | undefined;
    try {
      jwksUrl = typeof v2.jwks_uri === 'string' ? new URL(v2.jwks_uri) : undefined;
    } catch {
      jwksUrl = undefined;
    }
    if (jwksUrl === undefined || !isTrustedUrl(jwksUrl)) {
      throw new SigningKeysUnavailableError(`OpenID metadata ${v2MetadataUrl} has no usable https jwks_uri.`);
    }
    const remote = createRemoteJWKSet(jwksUrl, {
      timeoutDuration: fetchTimeoutMs,
      cooldownDuration: options.jwksCooldownMs ?? DEFAULTS.jwksCooldownMs,
      cacheMaxAge: options.jwksCacheMaxAgeMs ?? DEFAULTS.jwksCacheMaxAgeMs,
      [customFetch]: fetchImpl,
    });
    const keysUrl = jwksUrl.href;
    let keysFailedAt: number | undefined;
    // jose retries a failed JWKS fetch on every call; while it has no usable keys, hold back for a while.
    const keys: JWTVerifyGetKey = async (header, token) => {
      if (keysFailedAt !== undefined && !remote.fresh && now() - keysFailedAt < retryAfterMs) {
        throw new SigningKeysUnavailableError(
          `Signing keys ${keysUrl} could not be read recently; retrying soon.`,
        );
      }
      try {
        const key = await remote(header, token);
        keysFailedAt = undefined;
        return key;
      } catch (error) {
        if (
          error instanceof errors.JWKSNoMatchingKey ||
          error instanceof errors.JWKSMultipleMatchingKeys ||
          error instanceof errors.JOSENotSupported
        ) {
          throw error;
        }
        keysFailedAt = now();
        throw new SigningKeysUnavailableError(
          `Signing keys ${keysUrl} could not be read: ${describeError(error)}`,
          {
            cause: error,
          },
        );
      }
    };
    return { v1: templateFrom(v1, v1MetadataUrl), v2: templateFrom(v2, v2MetadataUrl), keys };
  }

  let metadata: TenantMetadata | undefined;
  let loading: Promise<TenantMetadata> | undefined;
  let lastFailure: { at: number; message: string } | undefined;

  async function getMetadata(): Promise<TenantMetadata | EntraFailure> {
    if (metadata !== undefined) return metadata;
    if (lastFailure !== undefined) {
      const waited = now() - lastFailure.at;
      if (waited < retryAfterMs) return unavailable(lastFailure.message, retryAfterMs - waited);
    }
    // Concurrent first requests share one load.
    loading ??= loadMetadata()
      .then((loaded) => {
        metadata = loaded;
        lastFailure = undefined;
        return loaded;
      })
      .finally(() => {
        loading = undefined;
      });
    try {
      return await loading;
    } catch (error) {
      const message = `Cannot verify bearer tokens right now: ${describeError(error)}`;
      lastFailure = { at: now(), message };
      return unavailable(message, retryAfterMs);
    }
  }

  function mapVerifyError(error: unknown, algorithmsText: string): EntraFailure {
    if (error instanceof SigningKeysUnavailableError) {
      return unavailable(`Cannot verify bearer tokens right now: ${error.message}`, retryAfterMs);
    }
    if (error instanceof errors.JWTExpired) {
      return unauthorized(
        'expired',
        `The token expired at ${isoFromSeconds(error.payload.exp)} (${clockSkewSeconds} s of clock skew allowed); request a new token.`,
      );
    }
    if (error instanceof errors.JWTClaimValidationFailed) {
      switch (error.claim) {
        case 'aud':
          return unauthorized(
            'wrong-audience',
            `The token's audience ${quote(error.payload.aud)} is not this API's (${quote(audience)}); request the token for this API's scope.`,
          );
        case 'nbf':
          return unauthorized(
            'not-yet-valid',
            `The token is not valid before ${isoFromSeconds(error.payload.nbf)} (${clockSkewSeconds} s of clock skew allowed); check the clocks.`,
          );
        default:
          return error.reason === 'missing'
            ? unauthorized(
                'missing-claim',
                `The token has no '${error.claim}' claim; it is not an Entra access token.`,
              )
            : unauthorized(
                'invalid-claims',
                `The token's '${error.claim}' claim is invalid: ${error.message}.`,
              );
      }
    }
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      return unauthorized(
        'bad-signature',
        `The token's signature does not verify with the signing keys of ${authorityHost}/${tenantId}; it was altered or not issued by this tenant's authority.`,
      );
    }
    if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
      return unauthorized(
        'unknown-key',
        `The token's signing key (kid) is not among the keys published by ${authorityHost}/${tenantId}; request a token from this tenant's authority.`,
      );
    }
    if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
      return unauthorized(
        'unsupported-alg',
        `The token's algorithm is not accepted; only ${algorithmsText} are.`,
      );
    }
    if (error instanceof errors.JOSEError) {
      return unauthorized(
        'malformed-token',
        `The bearer token is not a well-formed signed JWT: ${error.message}.`,
      );
    }
    // Not a token fault (a defect on our side): let it surface as a server error instead of a 401.
    throw error;
  }

  async function verify(authorization: string | null | undefined): Promise<EntraResult> {
    if (authorization === null || authorization === undefined || authorization.trim() === '') {
      return unauthorized(
        'missing-token',
        "No credentials: send 'Authorization: Bearer <Entra access token>'.",
      );
    }
    const token = BEARER.exec(authorization)?.[1];
    if (token === undefined) {
      return unauthorized(
        'malformed-header',
        "The Authorization header must be 'Bearer <Entra access token>'.",
      );
    }
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
      return unauthorized(
        'malformed-token',
        'The bearer token is not a compact signed JWT (header.payload.signature).',
      );
    }
    const algorithmsText = algorithms.join(', ');
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return unauthorized('malformed-token', "The bearer token's header is not base64url-encoded JSON.");
    }
    // Decided before any key lookup, so 'none' and HMAC tokens never reach key selection.
    if (typeof header.alg !== 'string' || !(algorithms as readonly string[]).includes(header.alg)) {
      return unauthorized(
        'unsupported-alg',
        `The token is signed with ${quote(header.alg ?? 'no algorithm')}; only ${algorithmsText} are accepted.`,
      );
    }
    if (typeof header.kid !== 'string' || header.kid === '') {
      return unauthorized(
        'malformed-token',
        "The token's header has no key id (kid); Entra tokens always carry one.",
      );
    }

    const tenant = await getMetadata();
    if ('ok' in tenant) return tenant;

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, tenant.keys, {
        algorithms,
        audience,
        clockTolerance: clockSkewSeconds,
        currentDate: new Date(now()),
        requiredClaims: ['exp', 'iss', 'tid'],
      }));
    } catch (error) {
      return mapVerifyError(error, algorithmsText);
    }

    // jose accepts an `aud` list containing ours; Entra issues exactly one audience, so insist on that.
    if (Array.isArray(payload.aud) && payload.aud.length !== 1) {
      return unauthorized(
        'wrong-audience',
        `The token is addressed to several audiences ${quote(payload.aud)}; only a token for ${quote(audience)} alone is accepted.`,
      );
    }
    const iss = stringClaim(payload, 'iss');
    const tid = stringClaim(payload, 'tid');
    if (iss === undefined || tid === undefined) {
      return unauthorized('invalid-claims', "The token's 'iss' and 'tid' claims must be non-empty strings.");
    }
    const expected = [fillIssuer(tenant.v1, tid), fillIssuer(tenant.v2, tid)];
    if (!expected.includes(iss)) {
      const named = tenantInIssuer(tenant.v2, iss) ?? tenantInIssuer(tenant.v1, iss);
      return named !== undefined
        ? unauthorized(
            'issuer-tenant-mismatch',
            `The token's issuer names tenant ${quote(named)} but its 'tid' is ${quote(tid)}; the token is not consistent.`,
          )
        : unauthorized(
            'wrong-issuer',
            `The token's issuer ${quote(iss)} is not ${authorityHost}'s v1 or v2 issuer for tenant ${quote(tid)}; request the token from this authority.`,
          );
    }
    if (!allowedTenants.has(tid.toLowerCase())) {
      return unauthorized(
        'tenant-not-allowed',
        `Tokens from tenant ${quote(tid)} are not accepted here; use a tenant listed in ENTRA_ALLOWED_TENANTS.`,
      );
    }

    const oid = stringClaim(payload, 'oid');
    const azp = stringClaim(payload, 'azp');
    const appid = stringClaim(payload, 'appid');
    const clientId = azp ?? appid;
    // Entra access tokens always name their client (v2 `azp`, v1 `appid`); ID tokens do not. Requiring it
    // stops an ID token issued to an app whose client id is our audience from passing as an access token.
    if (clientId === undefined) {
      return unauthorized(
        'missing-claim',
        "The token has neither 'azp' nor 'appid': it is not an access token (ID tokens are not accepted).",
      );
    }
    const id = oid ?? clientId;
    const candidates = [oid, azp, appid].filter((value): value is string => value !== undefined);
    if (!candidates.some((candidate) => allowedCallers.has(candidate.toLowerCase()))) {
      return forbidden(
        'caller-not-allowed',
        allowedCallers.size === 0
          ? 'No bearer callers are allowed: ENTRA_ALLOWED_CALLERS is empty. Ask the operator to add your oid or app id.'
          : `Caller ${candidates.map(quote).join(' / ')} is not in ENTRA_ALLOWED_CALLERS; ask the operator to add your oid or app id.`,
      );
    }
    const roles = stringList(payload.roles);
    if (requiredRole !== undefined && !roles.includes(requiredRole)) {
      return forbidden(
        'missing-role',
        `The token lacks the app role ${quote(requiredRole)}; ask an administrator to assign it to the caller.`,
      );
    }

    const claimNames = payload._claim_names;
    const name =
      stringClaim(payload, 'name') ??
      stringClaim(payload, 'preferred_username') ??
      stringClaim(payload, 'upn') ??
      stringClaim(payload, 'app_displayname');
    const evidence: EntraClaimsEvidence = { iss, aud: payload.aud ?? audience, tid };
    for (const claim of ['oid', 'sub', 'azp', 'appid', 'idtyp', 'ver', 'uti'] as const) {
      const value = stringClaim(payload, claim);
      if (value !== undefined) evidence[claim] = value;
    }
    if (typeof payload.iat === 'number') evidence.iat = payload.iat;
    if (typeof payload.exp === 'number') evidence.exp = payload.exp;

    return {
      ok: true,
      identity: {
        id,
        ...(name === undefined ? {} : { name }),
        tenantId: tid,
        roles,
        groups: stringList(payload.groups),
        groupsOverage:
          typeof claimNames === 'object' &&
          claimNames !== null &&
          'groups' in (claimNames as Record<string, unknown>),
        claims: evidence,
      },
    };
  }

  return { verify };
}

/**
 * The `WWW-Authenticate` value for a 401/403 (RFC 6750 §3); undefined for 503. No error code when the
 * request carried no credentials, as the RFC asks.
 */
export function bearerChallenge(failure: EntraFailure): string | undefined {
  if (failure.status === 503) return undefined;
  if (failure.reason === 'missing-token') return 'Bearer';
  const description = failure.message.replace(/[^\x20-\x7e]|["\\]/g, '');
  return `Bearer error="${failure.error}", error_description="${description}"`;
}
