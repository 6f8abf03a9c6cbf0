import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { SigningKeysUnavailableError } from './auth-error.js';

/**
 * The tenant's signing keys, cached by us: jose's remote key set refetched on every unknown `kid` after a failed
 * fetch (a flood of forged kids during an outage became thousands of fetches). An unknown kid refreshes at once
 * (a rollover is accepted immediately) but at most once per `unknownKidIntervalMs`, and every fetch is shared;
 * stale keys are kept when a refresh fails, and with no keys a failure holds fetches back for `retryAfterMs`.
 */
export interface JwksCacheOptions {
  url: URL;
  fetch: typeof fetch;
  now: () => number;
  timeoutMs: number;
  unknownKidIntervalMs: number;
  maxAgeMs: number;
  retryAfterMs: number;
  /** Told about every fetch, for health. */
  onFetch?: (ok: boolean, reason?: string) => void;
}

/**
 * The key set. `resolver` gives jose a resolver of the token's key that also tells `onIssuer` the issuer the set
 * publishes that very key for, if any: Entra publishes each key for an issuer, templated (`…/{tenantid}/v2.0`)
 * or one tenant's, and a key may sign only tokens of that issuer. Taken with the key, the issuer cannot come from
 * a set refreshed in between.
 */
export interface JwksCache {
  resolver(onIssuer: (issuer: string | undefined) => void): JWTVerifyGetKey;
}

interface KeySet {
  keys: JWTVerifyGetKey;
  issuers: ReadonlyMap<string, string>;
}

interface Loaded extends KeySet {
  at: number;
}

type Resolve = (
  header: Parameters<JWTVerifyGetKey>[0],
  token: Parameters<JWTVerifyGetKey>[1],
) => Promise<{ key: Awaited<ReturnType<JWTVerifyGetKey>>; set: KeySet }>;

export function createJwksCache(options: JwksCacheOptions): JwksCache {
  const { now } = options;
  let loaded: Loaded | undefined;
  let loading: Promise<Loaded> | undefined;
  let failedAt: number | undefined;
  let unknownKidRefreshAt: number | undefined;

  const refresh = (): Promise<Loaded> => {
    loading ??= fetchKeys(options)
      .then((set) => {
        loaded = { ...set, at: now() };
        failedAt = undefined;
        options.onFetch?.(true);
        return loaded;
      })
      .catch((error: unknown) => {
        failedAt = now();
        options.onFetch?.(false, error instanceof SigningKeysUnavailableError ? 'jwks' : 'jwks error');
        throw error;
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  };

  const current = async (): Promise<Loaded> => {
    if (loaded === undefined) {
      if (failedAt !== undefined && now() - failedAt < options.retryAfterMs && loading === undefined) {
        throw new SigningKeysUnavailableError(
          `Signing keys ${options.url.href} could not be read recently; retrying soon.`,
        );
      }
      return refresh();
    }
    if (now() - loaded.at <= options.maxAgeMs) return loaded;
    // Stale, and the last look failed just now: the keys held serve until the next look is due, rather than one
    // fetch per request (anyone can send a token with a known kid and a made-up signature).
    const recentlyFailed = failedAt !== undefined && now() - failedAt < options.retryAfterMs;
    if (recentlyFailed && loading === undefined) return loaded;
    return refresh().catch(() => loaded ?? Promise.reject(new Error('no keys')));
  };

  const resolve: Resolve = async (header, token) => {
    const set = await current();
    try {
      return { key: await set.keys(header, token), set };
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      const at = now();
      const mayRefresh =
        unknownKidRefreshAt === undefined || at - unknownKidRefreshAt >= options.unknownKidIntervalMs;
      // Not looked for again so soon: unknown if the last look found the set, unverifiable if it failed.
      if (loading === undefined && !mayRefresh) throw failedAt === undefined ? error : cannotLook(error);
      if (loading === undefined) unknownKidRefreshAt = at;
      let fresh: Loaded;
      try {
        fresh = await refresh();
      } catch (failure) {
        throw cannotLook(failure);
      }
      return { key: await fresh.keys(header, token), set: fresh };
    }
  };
  return { resolver: withIssuer(resolve) };
}

function withIssuer(resolve: Resolve): JwksCache['resolver'] {
  return (onIssuer) => async (header, token) => {
    const { key, set } = await resolve(header, token);
    onIssuer(header.kid === undefined ? undefined : set.issuers.get(header.kid));
    return key;
  };
}

/**
 * A kid not among the cached keys while the set cannot be read: perhaps a key rolled in meanwhile, so the token
 * cannot be judged (503 with Retry-After), rather than called unknown (a 401 a caller would not retry).
 */
function cannotLook(cause: unknown): SigningKeysUnavailableError {
  return new SigningKeysUnavailableError(
    `the token's signing key is not among the cached keys, and the key set could not be read again (${describe(cause)})`,
  );
}

async function fetchKeys(options: JwksCacheOptions): Promise<KeySet> {
  let body: unknown;
  try {
    const response = await options.fetch(options.url, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status}`);
    }
    body = await response.json();
  } catch (error) {
    throw new SigningKeysUnavailableError(
      `Signing keys ${options.url.href} could not be read: ${describe(error)}`,
      {
        cause: error,
      },
    );
  }
  try {
    return { keys: createLocalJWKSet(body as JSONWebKeySet), issuers: issuersOf(body as JSONWebKeySet) };
  } catch (error) {
    throw new SigningKeysUnavailableError(
      `Signing keys ${options.url.href} are not a JSON Web Key Set: ${describe(error)}`,
    );
  }
}

function issuersOf(set: JSONWebKeySet): Map<string, string> {
  const issuers = new Map<string, string>();
  for (const key of set.keys) {
    const { kid, issuer } = key as { kid?: unknown; issuer?: unknown };
    if (typeof kid === 'string' && typeof issuer === 'string') issuers.set(kid, issuer);
  }
  return issuers;
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
