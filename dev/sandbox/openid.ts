import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback, sendJson } from './http-util.js';
import {
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose';

/**
 * A local stand-in for the parts of Microsoft Entra ID a resource server reads: the v2 and v1 OpenID
 * metadata documents and the signing keys (JWKS), served over plain HTTP on 127.0.0.1, plus a token
 * issuer so tests and `npm start` can mint bearer tokens the real `jose` code path verifies.
 *
 * Paths and issuer forms follow what Entra publishes:
 *   /{tenant}/v2.0/.well-known/openid-configuration  issuer {host}/{tenant}/v2.0
 *   /{tenant}/.well-known/openid-configuration       issuer https://sts.windows.net/{tenant}/
 *   /{tenant}/discovery/v2.0/keys, /common/discovery/keys
 * `common` and `organizations` stand for "any tenant": their issuers carry the `{tenantid}` placeholder.
 */

export interface OpenIdStandInOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to a random GUID. */
  tenantId?: string;
  /** Clock for `iat`/`nbf`/`exp`, epoch ms; defaults to the wall clock. */
  now?: () => number;
}

export interface IssueTokenOptions {
  /** Header `kid`; defaults to the current key's id (also for `foreign`, so the wrong key is *selected*). */
  kid?: string;
  /** `HS256` is signed with the current public key's SPKI PEM as the HMAC secret (algorithm confusion). */
  alg?: 'RS256' | 'HS256' | 'none';
  /** Lifetime from now; negative issues an already expired token. Default 3600. */
  expiresInSeconds?: number;
  /** Absolute `nbf`, epoch seconds; defaults to now. */
  notBefore?: number;
  /** `v1` / `v2` (default) issuer form for the token's `tid`, or an exact issuer string. */
  issuer?: 'v1' | 'v2' | string;
  /** `foreign` signs with a key that is not in the published JWKS. */
  signWith?: 'current' | 'foreign';
}

export interface OpenIdStandIn {
  /** `http://127.0.0.1:<port>`: the value for ENTRA_AUTHORITY_HOST. */
  readonly authorityHost: string;
  readonly tenantId: string;
  /** The `kid` of the key currently published and used to sign. */
  currentKid(): string;
  /**
   * Claims override the defaults (`iss`, `tid`, `ver`, `iat`, `nbf`, `exp`); a claim set to undefined is
   * left out. `aud` has no default.
   */
  issueToken(claims: Record<string, unknown>, options?: IssueTokenOptions): Promise<string>;
  /** Replaces the signing key; the old one disappears from the JWKS. Resolves to the new kid. */
  rotateKeys(): Promise<string>;
  /** Requests served so far: `metadata` counts both (v1 and v2) documents. */
  counts(): { metadata: number; jwks: number };
  /** Make metadata and/or JWKS requests answer 503 until cleared. */
  setOutage(outage: { metadata?: boolean; jwks?: boolean }): void;
  /**
   * Publishes the signing key for one tenant's v2 issuer (as Entra publishes a tenant's own keys), or, with
   * undefined, for the templated `{tenantid}` issuer (the default, as Entra's shared keys).
   */
  bindKeyTo(tenant: string | undefined): void;
  close(): Promise<void>;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicPem: string;
}

const ANY_TENANT = new Set(['common', 'organizations']);
const PLACEHOLDER = '{tenantid}';

async function createSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return {
    kid,
    privateKey,
    publicJwk: { kty: jwk.kty, n: jwk.n, e: jwk.e, kid, use: 'sig' },
    publicPem: await exportSPKI(publicKey),
  };
}

function encodeSegment(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

export async function startOpenIdStandIn(options: OpenIdStandInOptions = {}): Promise<OpenIdStandIn> {
  const tenantId = options.tenantId ?? randomUUID();
  const now = options.now ?? (() => Date.now());
  let current = await createSigningKey();
  // Made on first use: RSA key generation is the slowest part of starting the stand-in.
  let foreign: Promise<SigningKey> | undefined;
  const counts = { metadata: 0, jwks: 0 };
  const outage = { metadata: false, jwks: false };
  let boundTo: string | undefined;
  let host = '';

  const v2Issuer = (tenant: string): string => `${host}/${tenant}/v2.0`;
  const v1Issuer = (tenant: string): string => `https://sts.windows.net/${tenant}/`;

  function metadata(tenantSegment: string, version: 'v1' | 'v2'): Record<string, unknown> {
    const issuerTenant = ANY_TENANT.has(tenantSegment) ? PLACEHOLDER : tenantId;
    const base = `${host}/${tenantSegment}`;
    return version === 'v2'
      ? {
          issuer: v2Issuer(issuerTenant),
          jwks_uri: `${base}/discovery/v2.0/keys`,
          authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
          token_endpoint: `${base}/oauth2/v2.0/token`,
          response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
          subject_types_supported: ['pairwise'],
          id_token_signing_alg_values_supported: ['RS256'],
          tenant_region_scope: 'EU',
          cloud_instance_name: 'sandbox.local',
        }
      : {
          issuer: v1Issuer(issuerTenant),
          jwks_uri: `${host}/common/discovery/keys`,
          authorization_endpoint: `${base}/oauth2/authorize`,
          token_endpoint: `${base}/oauth2/token`,
          response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
          subject_types_supported: ['pairwise'],
          id_token_signing_alg_values_supported: ['RS256'],
          tenant_region_scope: 'EU',
          cloud_instance_name: 'sandbox.local',
        };
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://stand-in').pathname;
    const segments = path.split('/').filter((segment) => segment !== '');
    const [tenantSegment = '', ...rest] = segments;
    const route = rest.join('/');
    if (req.method !== 'GET') {
      sendJson(res, 405, { error: 'invalid_request', error_description: 'Only GET is served here.' });
      return;
    }
    const isMetadata =
      route === 'v2.0/.well-known/openid-configuration' || route === '.well-known/openid-configuration';
    const isKeys = route === 'discovery/v2.0/keys' || route === 'discovery/keys';
    if (!isMetadata && !isKeys) {
      sendJson(res, 404, { error: 'not_found', error_description: `No such path: ${path}` });
      return;
    }
    if (tenantSegment !== tenantId && !ANY_TENANT.has(tenantSegment)) {
      sendJson(res, 400, {
        error: 'invalid_tenant',
        error_description: `AADSTS90002: Tenant '${tenantSegment}' not found.`,
      });
      return;
    }
    if (isMetadata) {
      counts.metadata++;
      if (outage.metadata) {
        sendJson(res, 503, { error: 'temporarily_unavailable' });
        return;
      }
      sendJson(res, 200, metadata(tenantSegment, route.startsWith('v2.0/') ? 'v2' : 'v1'));
      return;
    }
    counts.jwks++;
    if (outage.jwks) {
      sendJson(res, 503, { error: 'temporarily_unavailable' });
      return;
    }
    sendJson(res, 200, { keys: [{ ...current.publicJwk, issuer: v2Issuer(boundTo ?? PLACEHOLDER) }] });
  }

  const server = createServer(handle);
  host = `http://127.0.0.1:${await listenOnLoopback(server, options.port)}`;

  async function issueToken(claims: Record<string, unknown>, opts: IssueTokenOptions = {}): Promise<string> {
    const nowSeconds = Math.floor(now() / 1000);
    const tid = typeof claims.tid === 'string' ? claims.tid : tenantId;
    const issuerForm = opts.issuer ?? 'v2';
    const iss = issuerForm === 'v2' ? v2Issuer(tid) : issuerForm === 'v1' ? v1Issuer(tid) : issuerForm;
    const payload: Record<string, unknown> = {
      iss,
      tid,
      ver: issuerForm === 'v1' ? '1.0' : '2.0',
      iat: nowSeconds,
      nbf: opts.notBefore ?? nowSeconds,
      exp: nowSeconds + (opts.expiresInSeconds ?? 3600),
      ...claims,
    };
    const alg = opts.alg ?? 'RS256';
    const signer = opts.signWith === 'foreign' ? await (foreign ??= createSigningKey()) : current;
    const kid = opts.kid ?? current.kid;
    if (alg === 'RS256') {
      return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT', kid }).sign(signer.privateKey);
    }
    // Hand-built: jose (rightly) refuses to produce these, and they exist only to be refused.
    const signingInput = `${encodeSegment({ alg, typ: 'JWT', kid })}.${encodeSegment(payload)}`;
    if (alg === 'none') return `${signingInput}.`;
    const mac = createHmac('sha256', signer.publicPem).update(signingInput).digest();
    return `${signingInput}.${base64url.encode(mac)}`;
  }

  return {
    authorityHost: host,
    tenantId,
    currentKid: () => current.kid,
    issueToken,
    async rotateKeys() {
      current = await createSigningKey();
      return current.kid;
    },
    counts: () => ({ ...counts }),
    setOutage(next) {
      outage.metadata = next.metadata ?? false;
      outage.jwks = next.jwks ?? false;
    },
    bindKeyTo(tenant) {
      boundTo = tenant;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
