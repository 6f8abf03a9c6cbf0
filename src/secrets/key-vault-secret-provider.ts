import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { isRestError } from '@azure/core-rest-pipeline';
import type { SecretClient } from '@azure/keyvault-secrets';
import type { Logger } from '../logger.js';
import { toSecretError } from './classify-error.js';
import { SecretNotFoundError, SecretsUnavailableError } from './errors.js';
import { createKeyVaultSecretClient } from './key-vault-client.js';
import type { SecretProvider } from './secret-provider.js';
import { isUsableAt, selectUsableVersions } from './select-versions.js';
import type { VersionInfo } from './select-versions.js';

export interface KeyVaultSecretProviderOptions {
  vaultUrl: string;
  credential: TokenCredential;
  cacheTtlSeconds: number;
  /** Least time between two refreshes caused by signature misses, per secret name. Default 30. */
  minRefreshIntervalSeconds?: number;
  now: () => number;
  /**
   * CA for the loopback stand-in's self-signed certificate. It replaces the public CA list for this client, so
   * leave it unset for a real vault (a host process can trust the stand-in through NODE_EXTRA_CA_CERTS instead).
   */
  tls?: { ca: string };
  /** Budget for loading one secret (list and gets, retries included). Default 3000: Teams waits only 5 s. */
  timeoutMs?: number;
  /**
   * After a failed load, further reads of that name fail at once for this long without calling Key Vault, so
   * an outage is not made worse by every incoming request; also the Retry-After when Key Vault gave none.
   * Default 5.
   */
  failureBackoffSeconds?: number;
  logger?: Logger;
  /** Per attempt of every Key Vault call (the app reports Key Vault health through it). */
  policies?: PipelinePolicy[];
}

interface CachedVersion {
  value: string;
  expiresAtMs: number | undefined;
}

interface CachedSecret {
  loadedAt: number;
  /** Newest first. */
  versions: readonly CachedVersion[];
}

interface RecordedFailure {
  error: SecretNotFoundError | SecretsUnavailableError;
  until: number;
}

class LoadTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LoadTimeoutError(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** A version that was disabled or deleted between the list and the get: skip it, it is no longer trusted. */
function vanished(error: unknown): boolean {
  if (!isRestError(error)) return false;
  if (error.statusCode === 404) return true;
  if (error.statusCode !== 403) return false;
  const details: unknown = error.details;
  if (typeof details !== 'object' || details === null) return false;
  const inner = (details as { error?: { innerError?: { code?: unknown } } }).error?.innerError;
  return inner?.code === 'SecretDisabled';
}

/**
 * Webhook secrets from Key Vault, with every currently valid version returned so a rotation can overlap: put the
 * new version in, let senders switch, then disable the old one. Reads are cached per name for
 * `cacheTtlSeconds`; concurrent loads of one name share a single Key Vault round (single-flight). Fails closed:
 * when Key Vault cannot be read after the cache expired, callers get SecretsUnavailableError, never stale keys,
 * because a version disabled during the outage may have been disabled for being leaked.
 */
export function createKeyVaultSecretProvider(options: KeyVaultSecretProviderOptions): SecretProvider {
  return new KeyVaultSecretProvider(options);
}

class KeyVaultSecretProvider implements SecretProvider {
  readonly #client: SecretClient;
  readonly #ttlMs: number;
  readonly #minRefreshMs: number;
  readonly #timeoutMs: number;
  readonly #backoffSeconds: number;
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  readonly #cache = new Map<string, CachedSecret>();
  readonly #inFlight = new Map<string, Promise<CachedSecret>>();
  readonly #lastMissRefresh = new Map<string, number>();
  readonly #failures = new Map<string, RecordedFailure>();

  constructor(options: KeyVaultSecretProviderOptions) {
    this.#ttlMs = options.cacheTtlSeconds * 1000;
    this.#minRefreshMs = (options.minRefreshIntervalSeconds ?? 30) * 1000;
    this.#timeoutMs = options.timeoutMs ?? 3_000;
    this.#backoffSeconds = options.failureBackoffSeconds ?? 5;
    this.#now = options.now;
    this.#logger = options.logger;
    this.#client = createKeyVaultSecretClient({
      vaultUrl: options.vaultUrl,
      credential: options.credential,
      timeoutMs: this.#timeoutMs,
      tls: options.tls,
      ...(options.policies ? { policies: options.policies } : {}),
    });
  }

  async getSecretValues(name: string): Promise<readonly string[]> {
    const at = this.#now();
    const entry = this.#cache.get(name);
    if (entry !== undefined && at < entry.loadedAt + this.#ttlMs) {
      const values = valuesAt(entry, at);
      // Every cached version expired: the version that replaces them may be in the vault already.
      if (values.length > 0) return values;
    }
    if (!this.#inFlight.has(name)) {
      const failure = this.#recentFailure(name, at);
      if (failure !== undefined) throw failure;
    }
    return valuesAt(await this.#load(name), this.#now());
  }

  async refreshAfterMiss(name: string): Promise<readonly string[] | undefined> {
    const at = this.#now();
    // Someone is already fetching: that answer is as fresh as a new fetch would be, and costs nothing more.
    const pending = this.#inFlight.get(name);
    if (pending !== undefined) return valuesAt(await pending, this.#now());
    const last = this.#lastMissRefresh.get(name);
    if (last !== undefined && at < last + this.#minRefreshMs) return undefined;
    if (this.#recentFailure(name, at) !== undefined) return undefined;
    this.#lastMissRefresh.set(name, at);
    return valuesAt(await this.#load(name), this.#now());
  }

  #load(name: string): Promise<CachedSecret> {
    const pending = this.#inFlight.get(name);
    if (pending !== undefined) return pending;
    const started = withDeadline(fetchFromVault(this.#client, name, this.#now()), this.#timeoutMs).then(
      (entry) => this.#loaded(name, entry),
      (error: unknown) => this.#failed(name, error),
    );
    this.#inFlight.set(name, started);
    const settle = (): void => {
      if (this.#inFlight.get(name) === started) this.#inFlight.delete(name);
    };
    started.then(settle, settle);
    return started;
  }

  #loaded(name: string, entry: CachedSecret): CachedSecret {
    this.#cache.set(name, entry);
    this.#failures.delete(name);
    this.#logger?.info('secrets.loaded', { secretName: name, versions: entry.versions.length });
    return entry;
  }

  #failed(name: string, error: unknown): never {
    const typed = toSecretError(error, name, this.#backoffSeconds);
    // The vault says there is nothing valid: drop what we had, it may have been revoked on purpose.
    if (typed instanceof SecretNotFoundError) this.#cache.delete(name);
    // Honour a longer Retry-After from Key Vault (throttling) rather than asking again sooner.
    const holdSeconds =
      typed instanceof SecretsUnavailableError ? typed.retryAfterSeconds : this.#backoffSeconds;
    this.#failures.set(name, { error: typed, until: this.#now() + holdSeconds * 1000 });
    this.#logger?.warn('secrets.load_failed', {
      secretName: name,
      error: typed.name,
      status: 'status' in typed ? typed.status : undefined,
      code: 'code' in typed ? typed.code : undefined,
      reason: 'reason' in typed ? typed.reason : undefined,
    });
    throw typed;
  }

  /** A recent failure, re-thrown without calling Key Vault, with the Retry-After that is left. */
  #recentFailure(name: string, at: number): Error | undefined {
    const failure = this.#failures.get(name);
    if (failure === undefined || at >= failure.until) return undefined;
    if (failure.error instanceof SecretNotFoundError)
      return new SecretNotFoundError(name, failure.error.reason);
    const { error } = failure;
    const left = Math.max(1, Math.ceil((failure.until - at) / 1000));
    return new SecretsUnavailableError(error.message, {
      secretName: name,
      retryAfterSeconds: Math.min(error.retryAfterSeconds, left),
      status: error.status,
      code: error.code,
    });
  }
}

function valuesAt(entry: CachedSecret, at: number): readonly string[] {
  const values: string[] = [];
  for (const v of entry.versions) {
    // A version can expire while cached; it stops being accepted at its exp, not at the next refresh.
    if (v.expiresAtMs !== undefined && v.expiresAtMs <= at) continue;
    if (!values.includes(v.value)) values.push(v.value);
  }
  return values;
}

async function fetchFromVault(client: SecretClient, name: string, loadedAt: number): Promise<CachedSecret> {
  const listed: (VersionInfo & { version: string })[] = [];
  for await (const properties of client.listPropertiesOfSecretVersions(name)) {
    if (properties.version === undefined) continue;
    listed.push({
      version: properties.version,
      enabled: properties.enabled,
      notBefore: properties.notBefore,
      expiresOn: properties.expiresOn,
      createdOn: properties.createdOn,
    });
  }
  if (listed.length === 0) throw new SecretNotFoundError(name, 'missing');
  const fetched = await Promise.all(
    selectUsableVersions(listed, loadedAt).map((info) => fetchVersion(client, name, info.version, loadedAt)),
  );
  const versions = fetched.filter((v): v is CachedVersion => v !== undefined);
  if (versions.length === 0) throw new SecretNotFoundError(name, 'no-valid-version');
  return { loadedAt, versions };
}

async function fetchVersion(
  client: SecretClient,
  name: string,
  version: string,
  loadedAt: number,
): Promise<CachedVersion | undefined> {
  try {
    const secret = await client.getSecret(name, { version });
    // Attributes may have changed since the list; trust what came with the value.
    if (!isUsableAt(secret.properties, loadedAt)) return undefined;
    // An empty value would make every HMAC keyed with "" verify; never treat it as a key.
    if (secret.value === undefined || secret.value === '') return undefined;
    return { value: secret.value, expiresAtMs: secret.properties.expiresOn?.getTime() };
  } catch (error) {
    if (vanished(error)) return undefined;
    throw error;
  }
}
