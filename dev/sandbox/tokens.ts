import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Bearer tokens for the local sandbox. They are JWT-shaped (header.payload.signature, base64url) so that code
 * which peeks at claims keeps working, but signed with HS256 and a random key made at every start: only this
 * sandbox instance can mint or check them, and nothing outside the machine would ever accept them.
 */

/** Tenant every sandbox token claims to come from; not a real tenant. */
export const SANDBOX_TENANT_ID = '5a4db0c5-0000-4000-8000-000000000000';

export interface TokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  /** The managed identity's id; the sandbox uses its client id for both `oid` and `appid`. */
  oid: string;
  appid: string;
  sub: string;
  tid: string;
  idtyp: 'app';
  ver: '1.0';
}

export type VerifyFailureReason =
  | 'malformed'
  | 'unsupported-algorithm'
  | 'bad-signature'
  | 'wrong-issuer'
  | 'not-yet-valid'
  | 'expired'
  | 'wrong-audience';

export type VerifyResult =
  | { ok: true; claims: TokenClaims }
  /** `claims` is present once the signature checked out, so callers can word errors (expiry, audience). */
  | { ok: false; reason: VerifyFailureReason; message: string; claims?: TokenClaims };

export interface IssuedToken {
  token: string;
  claims: TokenClaims;
  /** Epoch seconds, as the App Service protocol reports `expires_on`. */
  expiresOn: number;
}

export interface TokenService {
  readonly issuer: string;
  readonly tenantId: string;
  issue(request: { resource: string; clientId: string }): IssuedToken;
  verify(token: string, acceptedAudiences: readonly string[]): VerifyResult;
}

export interface TokenServiceOptions {
  /** Milliseconds since the epoch. */
  now: () => number;
  lifetimeSeconds: number;
  /** HMAC key; a fresh random one when omitted (the normal case). */
  key?: Buffer;
  tenantId?: string;
}

export class TokenServiceError extends Error {
  override readonly name = 'TokenServiceError';
}

const HEADER = { alg: 'HS256', typ: 'JWT' } as const;

const b64url = (value: Buffer | string): string => Buffer.from(value).toString('base64url');

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeJson(segment: string): unknown {
  // base64url decoding in Node is lenient; re-encoding catches segments that were not canonical base64url.
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.toString('base64url') !== segment) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function asClaims(value: unknown): TokenClaims | undefined {
  if (!isRecord(value)) return undefined;
  const strings = ['aud', 'iss', 'oid', 'appid', 'sub', 'tid'] as const;
  const numbers = ['iat', 'nbf', 'exp'] as const;
  for (const key of strings) if (typeof value[key] !== 'string') return undefined;
  for (const key of numbers)
    if (typeof value[key] !== 'number' || !Number.isFinite(value[key])) return undefined;
  return value as unknown as TokenClaims;
}

export function createTokenService(options: TokenServiceOptions): TokenService {
  if (!Number.isInteger(options.lifetimeSeconds) || options.lifetimeSeconds <= 0) {
    throw new TokenServiceError(`lifetimeSeconds must be a positive integer, got ${options.lifetimeSeconds}`);
  }
  const key = options.key ?? randomBytes(32);
  const tenantId = options.tenantId ?? SANDBOX_TENANT_ID;
  // The v1 issuer shape Resource Manager tokens carry.
  const issuer = `https://sts.windows.net/${tenantId}/`;
  const encodedHeader = b64url(JSON.stringify(HEADER));
  const sign = (signingInput: string): Buffer =>
    createHmac('sha256', key).update(signingInput, 'utf8').digest();
  const nowSeconds = (): number => Math.floor(options.now() / 1000);

  return {
    issuer,
    tenantId,
    issue({ resource, clientId }) {
      const iat = nowSeconds();
      const claims: TokenClaims = {
        aud: resource,
        iss: issuer,
        iat,
        // Entra backdates nbf by five minutes to tolerate clock skew; mirror it.
        nbf: iat - 300,
        exp: iat + options.lifetimeSeconds,
        oid: clientId,
        appid: clientId,
        sub: clientId,
        tid: tenantId,
        idtyp: 'app',
        ver: '1.0',
      };
      const signingInput = `${encodedHeader}.${b64url(JSON.stringify(claims))}`;
      return { token: `${signingInput}.${b64url(sign(signingInput))}`, claims, expiresOn: claims.exp };
    },
    verify(token, acceptedAudiences) {
      const parts = token.split('.');
      if (parts.length !== 3) return { ok: false, reason: 'malformed', message: 'The token is not a JWT.' };
      const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
      const header = decodeJson(headerPart);
      if (!isRecord(header))
        return { ok: false, reason: 'malformed', message: 'The token header is not JSON.' };
      if (header.alg !== 'HS256') {
        return {
          ok: false,
          reason: 'unsupported-algorithm',
          message: 'The token signing algorithm is not accepted.',
        };
      }
      const expected = sign(`${headerPart}.${payloadPart}`);
      const actual = Buffer.from(signaturePart, 'base64url');
      if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
        return { ok: false, reason: 'bad-signature', message: 'The token signature is invalid.' };
      }
      const claims = asClaims(decodeJson(payloadPart));
      if (claims === undefined)
        return { ok: false, reason: 'malformed', message: 'The token claims are invalid.' };
      if (claims.iss !== issuer) {
        return {
          ok: false,
          reason: 'wrong-issuer',
          message: `The token issuer '${claims.iss}' is not trusted.`,
          claims,
        };
      }
      const now = nowSeconds();
      if (now < claims.nbf) {
        return { ok: false, reason: 'not-yet-valid', message: 'The token is not valid yet.', claims };
      }
      if (now >= claims.exp)
        return { ok: false, reason: 'expired', message: 'The token has expired.', claims };
      if (!acceptedAudiences.includes(claims.aud)) {
        return {
          ok: false,
          reason: 'wrong-audience',
          message: `The token audience '${claims.aud}' is not accepted.`,
          claims,
        };
      }
      return { ok: true, claims };
    },
  };
}
