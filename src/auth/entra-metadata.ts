import { isLoopbackHost } from '../loopback.js';
import { SigningKeysUnavailableError } from './auth-error.js';
import { createJwksCache, describe, type JwksCache } from './jwks-cache.js';
import { isUuid } from '../model/uuid.js';

/**
 * A tenant's OpenID metadata, as a resource server needs it: the v1 and v2 issuer forms (to check `iss`) and the
 * signing keys (from the v2 document's `jwks_uri`). Read once, on first use, shared by concurrent first callers;
 * a failed read is not retried for `retryAfterMs`, so an outage of the identity provider is not hammered.
 */

/** `{prefix}{tenant id}{suffix}`: how an issuer names its tenant. */
export interface IssuerTemplate {
  prefix: string;
  suffix: string;
}

export interface TenantMetadata {
  v1: IssuerTemplate;
  v2: IssuerTemplate;
  keys: JwksCache;
}

export interface MetadataOptions {
  authorityHost: string;
  tenantId: string;
  fetch: typeof fetch;
  now: () => number;
  fetchTimeoutMs: number;
  retryAfterMs: number;
  jwksCooldownMs: number;
  jwksCacheMaxAgeMs: number;
  /** Told about every read of metadata or keys, for health. */
  onFetch?: (ok: boolean, reason?: string) => void;
}

export type MetadataResult =
  { ok: true; metadata: TenantMetadata } | { ok: false; message: string; retryAfterMs: number };

/** https anywhere; http only where nobody else can answer (loopback stand-ins). */
export function isTrustedUrl(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

export function createMetadataSource(options: MetadataOptions): () => Promise<MetadataResult> {
  let metadata: TenantMetadata | undefined;
  let loading: Promise<TenantMetadata> | undefined;
  let lastFailure: { at: number; message: string } | undefined;
  const { now, retryAfterMs } = options;

  return async () => {
    if (metadata !== undefined) return { ok: true, metadata };
    if (lastFailure !== undefined) {
      const waited = now() - lastFailure.at;
      if (waited < retryAfterMs)
        return { ok: false, message: lastFailure.message, retryAfterMs: retryAfterMs - waited };
    }
    loading ??= loadMetadata(options).finally(() => {
      loading = undefined;
    });
    try {
      metadata = await loading;
      lastFailure = undefined;
      return { ok: true, metadata };
    } catch (error) {
      const message = `Cannot verify bearer tokens right now: ${describe(error)}`;
      lastFailure = { at: now(), message };
      options.onFetch?.(false, 'openid-metadata');
      return { ok: false, message, retryAfterMs };
    }
  };
}

async function loadMetadata(options: MetadataOptions): Promise<TenantMetadata> {
  const base = `${options.authorityHost}/${options.tenantId}`;
  const v2Url = `${base}/v2.0/.well-known/openid-configuration`;
  const v1Url = `${base}/.well-known/openid-configuration`;
  const [v2, v1] = await Promise.all([fetchDocument(options, v2Url), fetchDocument(options, v1Url)]);
  const keys = createJwksCache({
    url: jwksUrl(v2, v2Url),
    fetch: options.fetch,
    now: options.now,
    timeoutMs: options.fetchTimeoutMs,
    unknownKidIntervalMs: options.jwksCooldownMs,
    maxAgeMs: options.jwksCacheMaxAgeMs,
    retryAfterMs: options.retryAfterMs,
    ...(options.onFetch ? { onFetch: options.onFetch } : {}),
  });
  return {
    v1: templateFrom(v1, v1Url, options.tenantId),
    v2: templateFrom(v2, v2Url, options.tenantId),
    keys,
  };
}

function jwksUrl(document: Record<string, unknown>, from: string): URL {
  let url: URL | undefined;
  try {
    url = typeof document.jwks_uri === 'string' ? new URL(document.jwks_uri) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || !isTrustedUrl(url)) {
    throw new SigningKeysUnavailableError(`OpenID metadata ${from} has no usable https jwks_uri.`);
  }
  return url;
}

async function fetchDocument(options: MetadataOptions, url: string): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    const response = await options.fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(options.fetchTimeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status}`);
    }
    body = await response.json();
  } catch (error) {
    throw new SigningKeysUnavailableError(`OpenID metadata ${url} could not be read: ${describe(error)}`, {
      cause: error,
    });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SigningKeysUnavailableError(`OpenID metadata ${url} is not a JSON object.`);
  }
  return body as Record<string, unknown>;
}

function templateFrom(document: Record<string, unknown>, url: string, tenantId: string): IssuerTemplate {
  const issuer = document.issuer;
  const template = typeof issuer === 'string' ? issuerTemplate(issuer, tenantId) : undefined;
  if (template === undefined) {
    throw new SigningKeysUnavailableError(`OpenID metadata ${url} has no issuer naming a tenant.`);
  }
  return template;
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
    if (lower === '{tenantid}' || lower === configuredTenant.toLowerCase() || isUuid(segment)) {
      return {
        prefix: segments.slice(0, index).join('/') + '/',
        suffix: index + 1 < segments.length ? '/' + segments.slice(index + 1).join('/') : '',
      };
    }
  }
  return undefined;
}

export const fillIssuer = (template: IssuerTemplate, tenant: string): string =>
  template.prefix + tenant + template.suffix;

export function tenantInIssuer(template: IssuerTemplate, issuer: string): string | undefined {
  const length = issuer.length - template.prefix.length - template.suffix.length;
  if (length <= 0 || !issuer.startsWith(template.prefix) || !issuer.endsWith(template.suffix))
    return undefined;
  const tenant = issuer.slice(template.prefix.length, template.prefix.length + length);
  return tenant.includes('/') ? undefined : tenant;
}
