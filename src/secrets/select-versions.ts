/** The version metadata Key Vault lists, as far as choosing which versions to trust needs it. */
export interface VersionInfo {
  version: string;
  enabled?: boolean;
  notBefore?: Date;
  expiresOn?: Date;
  createdOn?: Date;
}

/**
 * Whether a version may be used at `nowMs`. Key Vault does not enforce nbf/exp on secret reads, so the client
 * must. `enabled` is optional in Key Vault's secret attributes and defaults to true, so only `false` disables.
 */
export function isUsableAt(version: Omit<VersionInfo, 'version' | 'createdOn'>, nowMs: number): boolean {
  if (version.enabled === false) return false;
  if (version.notBefore !== undefined && version.notBefore.getTime() > nowMs) return false;
  if (version.expiresOn !== undefined && version.expiresOn.getTime() <= nowMs) return false;
  return true;
}

/**
 * How many usable versions are read at most: a rotation overlaps two or three, and every reload reads each one
 * within one deadline. Versions nobody disabled pile up (a credential revoked on its platform, not in the vault).
 */
export const MAX_USABLE_VERSIONS = 5;

/**
 * The usable versions, newest first by `createdOn` (the list comes back in no useful order), at most
 * MAX_USABLE_VERSIONS of them. Key Vault stamps `created` in whole seconds, so ties are broken by version id only
 * to make the order deterministic; versions without `createdOn` go last.
 */
export function selectUsableVersions<T extends VersionInfo>(versions: readonly T[], nowMs: number): T[] {
  const created = (v: VersionInfo): number => v.createdOn?.getTime() ?? Number.NEGATIVE_INFINITY;
  return versions
    .filter((v) => isUsableAt(v, nowMs))
    .sort((a, b) => {
      const byCreated = created(b) - created(a);
      if (byCreated !== 0 && !Number.isNaN(byCreated)) return byCreated;
      return a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
    })
    .slice(0, MAX_USABLE_VERSIONS);
}
