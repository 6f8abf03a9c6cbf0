/**
 * Where webhook routes get the shared secrets they verify signatures with. Several values can be valid at once
 * (a rotation overlap), so callers try each, in constant time, and only treat a request as forged after a miss
 * that a rate-limited refresh did not fix.
 */
export interface SecretProvider {
  /**
   * Values of every enabled, currently valid (nbf <= now < expires) version, newest first, cached for the
   * configured TTL. Throws SecretsUnavailableError or SecretNotFoundError; never returns a stale value after a
   * failed refresh.
   */
  getSecretValues(name: string): Promise<readonly string[]>;
  /**
   * Called when a signature matched none of the cached values: refetches at most once per
   * minRefreshIntervalSeconds per name (so forged signatures cannot hammer Key Vault) and returns the fresh
   * values, or `undefined` when a refresh is not allowed yet.
   */
  refreshAfterMiss(name: string): Promise<readonly string[] | undefined>;
}
