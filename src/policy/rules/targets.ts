import { compileGlob, hasGlob } from '../glob.js';
import type { PolicyProblem } from '../policy-error.js';
import { pointer } from '../policy-error.js';
import type { ConnectionId } from '../../model/resource-id.js';
import { parseClusterOrConnectionId } from '../../model/resource-id.js';
import type { CompiledTarget } from '../types.js';

/**
 * targets: which clusters (or single connections) a rule covers. A rule only speaks about requests whose
 * connection lies inside one of its targets; a request no rule covers is denied.
 * Syntax and examples: docs/policy.md#targets.
 */

export interface RawTarget {
  id?: string;
  subscription?: string;
  resourceGroup?: string;
  cluster?: string;
}

const text = { type: 'string', minLength: 1, maxLength: 1024 } as const;

export const targetsSchema = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: { id: text, subscription: text, resourceGroup: text, cluster: text },
  },
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SUBSCRIPTION_GLOB = /^[0-9a-f*?-]+$/i;
// Resource Manager's own name rules (docs/architecture.md) plus the two glob characters.
const RESOURCE_GROUP_GLOB = /^[-\p{L}\p{N}_.()*?]{1,90}$/u;
const CLUSTER_GLOB = /^[a-zA-Z0-9_*?-]{1,63}$/;

const FIELDS = ['subscription', 'resourceGroup', 'cluster'] as const;

function checkField(field: (typeof FIELDS)[number], value: string): string | undefined {
  switch (field) {
    case 'subscription':
      if (hasGlob(value)) {
        return SUBSCRIPTION_GLOB.test(value) ? undefined : 'must be a subscription UUID or a glob of one';
      }
      return UUID.test(value) ? undefined : 'must be a subscription id (UUID), or a glob such as "*"';
    case 'resourceGroup':
      return RESOURCE_GROUP_GLOB.test(value) && !value.endsWith('.')
        ? undefined
        : 'must be a resource group name or glob (letters, digits, - _ . ( ) and * ?; at most 90; not ending in ".")';
    case 'cluster':
      return CLUSTER_GLOB.test(value)
        ? undefined
        : 'must be an AKS cluster name or glob (letters, digits, - _ and * ?; at most 63)';
  }
}

function compileOne(raw: RawTarget, at: string, problems: PolicyProblem[]): CompiledTarget | undefined {
  if (raw.id !== undefined) {
    const id = raw.id;
    const extra = FIELDS.filter((field) => raw[field] !== undefined);
    if (extra.length > 0) {
      problems.push({
        pointer: at,
        message: `use either "id" or subscription/resourceGroup/cluster, not both (found ${extra.join(', ')})`,
      });
      return undefined;
    }
    const parsed = hasGlob(id) ? undefined : parseClusterOrConnectionId(id);
    if (parsed === undefined) {
      problems.push({
        pointer: pointer(at, 'id'),
        message:
          'must be an exact AKS cluster id (/subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}) or a private endpoint connection id under one; use subscription/resourceGroup/cluster for globs',
      });
      return undefined;
    }
    const key = (s: string): string => s.toLowerCase();
    return {
      label: id,
      matches: (target) =>
        key(target.subscriptionId) === key(parsed.cluster.subscriptionId) &&
        key(target.resourceGroup) === key(parsed.cluster.resourceGroup) &&
        key(target.cluster) === key(parsed.cluster.cluster) &&
        (parsed.connection === undefined || key(target.connection) === key(parsed.connection)),
    };
  }
  let ok = true;
  for (const field of FIELDS) {
    const value = raw[field];
    const problem =
      value === undefined
        ? 'is required (write "*" to match any, so the breadth is visible)'
        : checkField(field, value);
    if (problem !== undefined) {
      problems.push({ pointer: pointer(at, field), message: problem });
      ok = false;
    }
  }
  if (!ok) return undefined;
  const subscription = compileGlob(raw.subscription ?? '');
  const resourceGroup = compileGlob(raw.resourceGroup ?? '');
  const cluster = compileGlob(raw.cluster ?? '');
  return {
    label: `subscription ${subscription.pattern}, resource group ${resourceGroup.pattern}, cluster ${cluster.pattern}`,
    matches: (target) =>
      subscription.test(target.subscriptionId) &&
      resourceGroup.test(target.resourceGroup) &&
      cluster.test(target.cluster),
  };
}

export function compileTargets(
  raw: readonly RawTarget[],
  at: string,
  problems: PolicyProblem[],
): CompiledTarget[] {
  return raw.flatMap((item, index) => compileOne(item, pointer(at, index), problems) ?? []);
}

export const targetsCover = (targets: readonly CompiledTarget[], target: ConnectionId): boolean =>
  targets.some((candidate) => candidate.matches(target));
