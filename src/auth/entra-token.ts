import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { AuthConfigError, SigningKeysUnavailableError } from './auth-error.js';
import type { TenantMetadata } from './entra-metadata.js';
import { createMetadataSource, fillIssuer, isTrustedUrl, tenantInIssuer } from './entra-metadata.js';

/**
 * Verifies Microsoft Entra ID bearer tokens for this API: signature against the tenant's published keys,
 * audience, lifetime, issuer (v1 and v2 forms), tenant allow-list, caller allow-list, optional app role.
 *
 * Keys and issuers come from the tenant's OpenID metadata, read lazily once per verifier and cached
 * (entra-metadata.ts); keys are refreshed on an unknown `kid`, rate-limited (jwks-cache.ts). When metadata or
 * keys cannot be read the answer is 503, never "allow".
 */

export type EntraAlgorithm = 'RS256' | 'PS256' | 'ES256';

export interface EntraVerifierOptions {
  tenantId: string;
  /**
   * The API's identifiers a token may name in `aud`: its App ID URI or client id, comma-separated when several
   * (see `audiencesOf`).
   */
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
  /** Least time between two key refreshes caused by an unknown `kid`. Default 5000. */
  jwksCooldownMs?: number;
  /** Keys older than this are refreshed before use. Default 600000. */
  jwksCacheMaxAgeMs?: number;
  /** Told about every read of the signing keys (for health). */
  onFetch?: (ok: boolean, reason?: string) => void;
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
  'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable';

export type EntraFailureReason =
  | 'missing-token'
  | 'malformed-header'
  | 'malformed-token'
  | 'unsupported-alg'
  | 'unknown-key'
  | 'key-issuer-mismatch'
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
  /**
   * Resolves with a result for every request; rejects only on a defect of ours, never on a bad token.
   * `requiredRole` replaces the configured role for routes that need another (`Discovery.Run`).
   */
  verify(authorization: string | null | undefined, requiredRole?: string): Promise<EntraResult>;
}

const DEFAULTS = {
  clockSkewSeconds: 120,
  algorithms: ['RS256'] as const,
  retryAfterMs: 5_000,
  fetchTimeoutMs: 5_000,
  jwksCooldownMs: 5_000,
  jwksCacheMaxAgeMs: 600_000,
};

/** Bearer tokens from Entra are a few KiB even with many groups; anything far larger is not one of them. */
const MAX_TOKEN_LENGTH = 32 * 1024;
const SUPPORTED_ALGORITHMS: readonly string[] = ['RS256', 'PS256', 'ES256'];
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$/;
const BEARER = /^Bearer +(\S+) *$/i;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The verifier's settled configuration, checked once when it is created. */
interface Settings {
  tenantId: string;
  /** Every `aud` accepted; a token names exactly one of them. */
  audiences: readonly string[];
  authorityHost: string;
  requiredRole?: string;
  clockSkewSeconds: number;
  algorithms: string[];
  allowedTenants: ReadonlySet<string>;
  allowedCallers: ReadonlySet<string>;
  retryAfterMs: number;
  now: () => number;
}

export function createEntraVerifier(options: EntraVerifierOptions): EntraVerifier {
  const settings = settle(options);
  const metadata = createMetadataSource({
    authorityHost: settings.authorityHost,
    tenantId: settings.tenantId,
    fetch: options.fetch ?? globalThis.fetch,
    now: settings.now,
    fetchTimeoutMs: options.fetchTimeoutMs ?? DEFAULTS.fetchTimeoutMs,
    retryAfterMs: settings.retryAfterMs,
    jwksCooldownMs: options.jwksCooldownMs ?? DEFAULTS.jwksCooldownMs,
    jwksCacheMaxAgeMs: options.jwksCacheMaxAgeMs ?? DEFAULTS.jwksCacheMaxAgeMs,
    ...(options.onFetch ? { onFetch: options.onFetch } : {}),
  });
  return {
    async verify(authorization, requiredRole) {
      const token = readToken(authorization, settings);
      if (typeof token !== 'string') return token;
      const tenant = await metadata();
      if (!tenant.ok) return unavailable(tenant.message, tenant.retryAfterMs);
      let payload: JWTPayload;
      let keyIssuer: string | undefined;
      const getKey = tenant.metadata.keys.resolver((issuer) => {
        keyIssuer = issuer;
      });
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          algorithms: settings.algorithms,
          audience: [...settings.audiences],
          clockTolerance: settings.clockSkewSeconds,
          currentDate: new Date(settings.now()),
          requiredClaims: ['exp', 'iss', 'tid'],
        }));
      } catch (error) {
        return mapVerifyError(error, settings);
      }
      const checked = requiredRole === undefined ? settings : { ...settings, requiredRole };
      return checkClaims(payload, checked, tenant.metadata, keyIssuer);
    },
  };
}

function settle(options: EntraVerifierOptions): Settings {
  const authorityHost = normaliseAuthorityHost(options.authorityHost);
  const { tenantId, audience } = options;
  if (!TENANT_ID.test(tenantId)) {
    throw new AuthConfigError(
      `Entra tenant id '${tenantId}' must be a GUID, a domain name, or 'organizations'.`,
    );
  }
  const audiences = audiencesOf(audience);
  if (audiences.length === 0) throw new AuthConfigError('Entra audience must not be empty.');
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
  return {
    tenantId,
    audiences,
    authorityHost,
    ...(options.requiredRole === undefined ? {} : { requiredRole: options.requiredRole }),
    clockSkewSeconds,
    algorithms,
    // Tenant and object ids are GUIDs, which Entra emits in lower case but humans paste in any case.
    allowedTenants: new Set(options.allowedTenants.map((tenant) => tenant.toLowerCase())),
    allowedCallers: new Set(options.allowedCallers.map((caller) => caller.toLowerCase())),
    retryAfterMs: options.retryAfterMs ?? DEFAULTS.retryAfterMs,
    now: options.now,
  };
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

/** The compact JWT from the header, or the refusal; checked before any key lookup or network call. */
function readToken(authorization: string | null | undefined, settings: Settings): string | EntraFailure {
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
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return unauthorized('malformed-token', "The bearer token's header is not base64url-encoded JSON.");
  }
  // Decided before any key lookup, so 'none' and HMAC tokens never reach key selection.
  if (typeof header.alg !== 'string' || !settings.algorithms.includes(header.alg)) {
    return unauthorized(
      'unsupported-alg',
      `The token is signed with ${quote(header.alg ?? 'no algorithm')}; only ${settings.algorithms.join(', ')} are accepted.`,
    );
  }
  if (typeof header.kid !== 'string' || header.kid === '') {
    return unauthorized(
      'malformed-token',
      "The token's header has no key id (kid); Entra tokens always carry one.",
    );
  }
  return token;
}

function mapVerifyError(error: unknown, settings: Settings): EntraFailure {
  if (error instanceof SigningKeysUnavailableError) {
    return unavailable(`Cannot verify bearer tokens right now: ${error.message}`, settings.retryAfterMs);
  }
  const skew = `${settings.clockSkewSeconds} s of clock skew allowed`;
  if (error instanceof errors.JWTExpired) {
    return unauthorized(
      'expired',
      `The token expired at ${isoFromSeconds(error.payload.exp)} (${skew}); request a new token.`,
    );
  }
  if (error instanceof errors.JWTClaimValidationFailed) return claimFailure(error, settings, skew);
  const authority = `${settings.authorityHost}/${settings.tenantId}`;
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return unauthorized(
      'bad-signature',
      `The token's signature does not verify with the signing keys of ${authority}; it was altered or not issued by this tenant's authority.`,
    );
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return unauthorized(
      'unknown-key',
      `The token's signing key (kid) is not among the keys published by ${authority}; request a token from this tenant's authority.`,
    );
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return unauthorized(
      'unsupported-alg',
      `The token's algorithm is not accepted; only ${settings.algorithms.join(', ')} are.`,
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

function claimFailure(
  error: InstanceType<typeof errors.JWTClaimValidationFailed>,
  settings: Settings,
  skew: string,
): EntraFailure {
  switch (error.claim) {
    case 'aud':
      return unauthorized(
        'wrong-audience',
        `The token's audience ${quote(error.payload.aud)} is not this API's (${audiencesText(settings)}); request the token for this API's scope.`,
      );
    case 'nbf':
      return unauthorized(
        'not-yet-valid',
        `The token is not valid before ${isoFromSeconds(error.payload.nbf)} (${skew}); check the clocks.`,
      );
    default:
      return error.reason === 'missing'
        ? unauthorized(
            'missing-claim',
            `The token has no '${error.claim}' claim; it is not an Entra access token.`,
          )
        : unauthorized('invalid-claims', `The token's '${error.claim}' claim is invalid: ${error.message}.`);
  }
}

/** What the signature alone does not prove: one audience, a consistent issuer, an allowed tenant and caller. */
function checkClaims(
  payload: JWTPayload,
  settings: Settings,
  tenant: TenantMetadata,
  keyIssuer: string | undefined,
): EntraResult {
  // jose accepts an `aud` list containing ours; Entra issues exactly one audience, so insist on that.
  if (Array.isArray(payload.aud) && payload.aud.length !== 1) {
    return unauthorized(
      'wrong-audience',
      `The token is addressed to several audiences ${quote(payload.aud)}; only a token for this API alone (${audiencesText(settings)}) is accepted.`,
    );
  }
  const iss = stringClaim(payload, 'iss');
  const tid = stringClaim(payload, 'tid');
  if (iss === undefined || tid === undefined) {
    return unauthorized('invalid-claims', "The token's 'iss' and 'tid' claims must be non-empty strings.");
  }
  const issuer =
    checkIssuer(iss, tid, tenant, settings.authorityHost) ?? checkKeyIssuer(iss, tid, tenant, keyIssuer);
  if (issuer) return issuer;
  // Entra access tokens always name their client (v2 `azp`, v1 `appid`); ID tokens do not. Requiring it
  // stops an ID token issued to an app whose client id is our audience from passing as an access token.
  const clientId = stringClaim(payload, 'azp') ?? stringClaim(payload, 'appid');
  if (clientId === undefined) {
    return unauthorized(
      'missing-claim',
      "The token has neither 'azp' nor 'appid': it is not an access token (ID tokens are not accepted).",
    );
  }
  // The token is good; its tenant may not call here: authenticated, not allowed (403).
  if (!settings.allowedTenants.has(tid.toLowerCase())) {
    return forbidden(
      'tenant-not-allowed',
      `Tokens from tenant ${quote(tid)} are not accepted here; use a tenant listed in ENTRA_ALLOWED_TENANTS.`,
    );
  }
  return checkCaller(payload, settings, { iss, tid, clientId });
}

function checkIssuer(
  iss: string,
  tid: string,
  tenant: TenantMetadata,
  authorityHost: string,
): EntraFailure | undefined {
  if (iss === fillIssuer(tenant.v1, tid) || iss === fillIssuer(tenant.v2, tid)) return undefined;
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

/**
 * A key the set publishes for an issuer signs only that issuer's tokens: the templated `{tenantid}` filled with
 * the token's `tid`, a v1 token compared in its v2 form (keys name v2 issuers), as Microsoft's own validation
 * does. Without this, behind a multi-tenant key set a key of one tenant could vouch for a token naming another.
 */
function checkKeyIssuer(
  iss: string,
  tid: string,
  tenant: TenantMetadata,
  published: string | undefined,
): EntraFailure | undefined {
  if (published === undefined) return undefined;
  const expected = published.replace(/\{tenantid\}/gi, tid);
  const asV2 = iss === fillIssuer(tenant.v1, tid) ? fillIssuer(tenant.v2, tid) : iss;
  if (expected === iss || expected === asV2) return undefined;
  return unauthorized(
    'key-issuer-mismatch',
    `The token's signing key is published for issuer ${quote(published)}, not for the token's ${quote(iss)}; request the token from its own tenant.`,
  );
}

function checkCaller(
  payload: JWTPayload,
  settings: Settings,
  { iss, tid, clientId }: { iss: string; tid: string; clientId: string },
): EntraResult {
  const oid = stringClaim(payload, 'oid');
  // A client's id vouches only for a token issued to the client itself: a user's token obtained through an allowed
  // client app names that app in azp/appid too (Microsoft's claims validation: authorize by azp/appid only when
  // idtyp is app). Without idtyp, a token with delegated scopes (scp) is a user's.
  const appOnly = isAppOnly(payload);
  const apps = appOnly ? [stringClaim(payload, 'azp'), stringClaim(payload, 'appid')] : [];
  const candidates = [oid, ...apps].filter((value): value is string => value !== undefined);
  if (!candidates.some((candidate) => settings.allowedCallers.has(candidate.toLowerCase()))) {
    const onBehalf = appOnly
      ? ''
      : " (a user token is allowed by the user's oid; its app id counts only for app-only tokens)";
    return forbidden(
      'caller-not-allowed',
      settings.allowedCallers.size === 0
        ? 'No bearer callers are allowed: ENTRA_ALLOWED_CALLERS is empty. Ask the operator to add your oid or app id.'
        : `Caller ${candidates.length > 0 ? candidates.map(quote).join(' / ') : '(a user token without oid)'} is not in ENTRA_ALLOWED_CALLERS${onBehalf}; ask the operator to add your oid or app id.`,
    );
  }
  const roles = stringList(payload.roles);
  if (settings.requiredRole !== undefined && !roles.includes(settings.requiredRole)) {
    return forbidden(
      'missing-role',
      `The token lacks the app role ${quote(settings.requiredRole)}; ask an administrator to assign it to the caller.`,
    );
  }
  return {
    ok: true,
    identity: identityOf(payload, { id: oid ?? clientId, iss, tid, roles }),
  };
}

/** A token issued to an application for itself (client credentials, a managed identity), not to a user. */
function isAppOnly(payload: JWTPayload): boolean {
  const idtyp = stringClaim(payload, 'idtyp');
  if (idtyp !== undefined) return idtyp.toLowerCase() === 'app';
  return payload.scp === undefined;
}

function identityOf(
  payload: JWTPayload,
  known: { id: string; iss: string; tid: string; roles: string[] },
): EntraIdentity {
  const name =
    stringClaim(payload, 'name') ??
    stringClaim(payload, 'preferred_username') ??
    stringClaim(payload, 'upn') ??
    stringClaim(payload, 'app_displayname');
  const evidence: EntraClaimsEvidence = {
    iss: known.iss,
    // jwtVerify checked it against the accepted audiences, so it is there.
    aud: payload.aud ?? [],
    tid: known.tid,
  };
  for (const claim of ['oid', 'sub', 'azp', 'appid', 'idtyp', 'ver', 'uti'] as const) {
    const value = stringClaim(payload, claim);
    if (value !== undefined) evidence[claim] = value;
  }
  if (typeof payload.iat === 'number') evidence.iat = payload.iat;
  if (typeof payload.exp === 'number') evidence.exp = payload.exp;
  const claimNames = payload._claim_names;
  return {
    id: known.id,
    ...(name === undefined ? {} : { name }),
    tenantId: known.tid,
    roles: known.roles,
    groups: stringList(payload.groups),
    groupsOverage:
      typeof claimNames === 'object' &&
      claimNames !== null &&
      'groups' in (claimNames as Record<string, unknown>),
    claims: evidence,
  };
}

const CLIENT_ID = /^(?:api:\/\/)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/**
 * The `aud` values one API's tokens carry. Entra's v2 tokens always name its client id; v1 tokens name what the
 * token was requested for, its client id or its App ID URI. So `api://<client id>` (the default App ID URI) and
 * the client id stand for each other: either one configured accepts both. A custom App ID URI is listed with the
 * client id beside it (`https://contoso.com/approver,<client id>`) to accept v2 tokens too.
 */
function audiencesOf(configured: string): string[] {
  const listed = configured
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  const unlike = listed.find((a) => !CLIENT_ID.test(a) && !a.includes('://'));
  if (unlike !== undefined) {
    throw new AuthConfigError(
      `Entra audience '${unlike}' is neither a client id nor an App ID URI (api://…, https://…); list the API's identifiers, comma-separated.`,
    );
  }
  const twins = listed.flatMap((a) => {
    const id = CLIENT_ID.exec(a)?.[1]?.toLowerCase();
    return id === undefined ? [a] : [id, `api://${id}`];
  });
  return [...new Set(twins)];
}

const audiencesText = (settings: Settings): string => settings.audiences.map(quote).join(' or ');

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

/**
 * 401. A header that is not `Bearer <token>` holds a malformed token (`invalid_token`, RFC 6750 §3.1): this API
 * answers bad credentials 401, and `invalid_request` pairs with 400. No credentials at all carry no error code
 * in the challenge (`bearerChallenge`).
 */
function unauthorized(reason: EntraFailureReason, message: string): EntraFailure {
  const error: EntraErrorCode = reason === 'missing-token' ? 'invalid_request' : 'invalid_token';
  return { ok: false, status: 401, error, reason, message };
}

/** RFC 6750 §3.1 names one error for a valid token that may not do this: `insufficient_scope`. */
function forbidden(
  reason: 'tenant-not-allowed' | 'caller-not-allowed' | 'missing-role',
  message: string,
): EntraFailure {
  return { ok: false, status: 403, error: 'insufficient_scope', reason, message };
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
