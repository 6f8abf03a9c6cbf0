// Types of what azd-hooks.mjs exports, so that the tests can import its pure parts under strict TypeScript.

export interface Scopes {
  deployment: string;
  subscriptionTargets: string[];
  resourceGroupTargets: string[];
  clusterTargets: string[];
  clusterResourceGroups: string[];
  targetSubscriptions: string[];
  discoverySubscriptions: string[];
}

export interface RightsCheck {
  scope: string;
  why: string;
  actions: string[];
}

export interface PermissionSet {
  actions?: string[];
  notActions?: string[];
}

export type AzdValues = Readonly<Record<string, string | undefined>>;

export function scopesOf(values: AzdValues): Scopes;
export function requiredRights(values: AzdValues): RightsCheck[];
export function actionMatches(pattern: string, action: string): boolean;
export function holds(permissions: readonly PermissionSet[], action: string): boolean;
export function roleDefinitionsReason(values: AzdValues): string | undefined;
