import { compileGlob, hasGlob } from '../glob.js';
import type { Matcher } from '../glob.js';
import type { PolicyProblem } from '../policy-error.js';
import { pointer } from '../policy-error.js';
import { AKS, PROVIDERS } from '../../model/provider-registry.js';
import type { ConnectionId } from '../../model/resource-id.js';
import { parseResourceOrConnectionId, resourceName } from '../../model/resource-id.js';
import type { CompiledTarget } from '../types.js';
import { isUuid } from '../../model/uuid.js';

/**
 * targets: which resources (or single connections) a rule covers. A rule only speaks about requests whose
 * connection lies inside one of its targets; a request no rule covers is denied. An entry without `type` means
 * AKS clusters (what every policy meant before other types existed), and `cluster` is the AKS spelling of
 * `resource`; breadth over types is written down (`type: '*'`).
 * Syntax and examples: docs/policy.md#targets.
 */

export interface RawTarget {
  id?: string;
  subscription?: string;
  resourceGroup?: string;
  type?: string;
  resource?: string;
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
    properties: {
      id: text,
      subscription: text,
      resourceGroup: text,
      type: text,
      resource: text,
      cluster: text,
    },
  },
} as const;

const SUBSCRIPTION_GLOB = /^[0-9a-f*?-]+$/i;
// Resource Manager's own name rules (docs/architecture.md) plus the two glob characters.
const RESOURCE_GROUP_GLOB = /^[-\p{L}\p{N}_.()*?]{1,90}$/u;
const CLUSTER_GLOB = /^[a-zA-Z0-9_*?-]{1,63}$/;
const RESOURCE_GLOB = /^[-\p{L}\p{N}_.()*?]{1,260}$/u;
const TYPE_GLOB = /^[A-Za-z0-9.*?/]{1,200}$/;

type Field = 'subscription' | 'resourceGroup' | 'type' | 'resource' | 'cluster';

function checkField(field: Field, value: string): string | undefined {
  switch (field) {
    case 'subscription':
      if (hasGlob(value)) {
        return SUBSCRIPTION_GLOB.test(value) ? undefined : 'must be a subscription UUID or a glob of one';
      }
      return isUuid(value) ? undefined : 'must be a subscription id (UUID), or a glob such as "*"';
    case 'resourceGroup':
      return RESOURCE_GROUP_GLOB.test(value) && !value.endsWith('.')
        ? undefined
        : 'must be a resource group name or glob (letters, digits, - _ . ( ) and * ?; at most 90; not ending in ".")';
    case 'cluster':
      return CLUSTER_GLOB.test(value)
        ? undefined
        : 'must be an AKS cluster name or glob (letters, digits, - _ and * ?; at most 63)';
    case 'resource':
      return RESOURCE_GLOB.test(value)
        ? undefined
        : 'must be a resource name or glob (letters, digits, - _ . ( ) and * ?; at most 260)';
    case 'type': {
      if (!TYPE_GLOB.test(value))
        return 'must be Namespace/resourceType or a glob of it, e.g. "Microsoft.Storage/*"';
      const glob = compileGlob(value);
      return PROVIDERS.some((p) => glob.test(p.type))
        ? undefined
        : 'matches no resource type this app knows (docs/providers.md lists them)';
    }
  }
}

const key = (s: string): string => s.toLowerCase();

function exactTarget(id: string, at: string, problems: PolicyProblem[]): CompiledTarget | undefined {
  const parsed = hasGlob(id) ? undefined : parseResourceOrConnectionId(id);
  if (parsed === undefined) {
    problems.push({
      pointer: pointer(at, 'id'),
      message:
        'must be an exact resource id of a known type (/subscriptions/{id}/resourceGroups/{rg}/providers/{Namespace}/{type}/{name}) or a private endpoint connection id under one; use subscription/resourceGroup/type/resource for globs',
    });
    return undefined;
  }
  const { resource, connection } = parsed;
  return {
    label: id,
    matches: (target) =>
      key(target.subscriptionId) === key(resource.subscriptionId) &&
      key(target.resourceGroup) === key(resource.resourceGroup) &&
      target.provider === resource.provider &&
      target.names.length === resource.names.length &&
      target.names.every((name, i) => key(name) === key(resource.names[i] ?? '')) &&
      (connection === undefined || key(target.connection) === key(connection)),
  };
}

interface GlobTarget {
  subscription: Matcher;
  resourceGroup: Matcher;
  type: Matcher;
  resource: Matcher;
}

/** A glob entry's four matchers: `cluster` is `resource` for AKS, and no `type` means AKS. */
function globsOf(raw: RawTarget, at: string, problems: PolicyProblem[]): GlobTarget | undefined {
  if (raw.cluster !== undefined && raw.resource !== undefined) {
    problems.push({ pointer: at, message: 'use "resource" or "cluster" (its AKS spelling), not both' });
    return undefined;
  }
  if (raw.cluster !== undefined && raw.type !== undefined && key(raw.type) !== key(AKS.type)) {
    problems.push({
      pointer: pointer(at, 'cluster'),
      message: `"cluster" names AKS clusters; write "resource" for ${raw.type}`,
    });
    return undefined;
  }
  const nameField: Field = raw.resource !== undefined || raw.type !== undefined ? 'resource' : 'cluster';
  const values: [Field, string | undefined][] = [
    ['subscription', raw.subscription],
    ['resourceGroup', raw.resourceGroup],
    ['type', raw.type ?? AKS.type],
    [nameField, raw.resource ?? raw.cluster],
  ];
  const matchers: Matcher[] = [];
  for (const [field, value] of values) {
    const problem =
      value === undefined
        ? 'is required (write "*" to match any, so the breadth is visible)'
        : checkField(field, value);
    if (problem !== undefined) problems.push({ pointer: pointer(at, field), message: problem });
    else matchers.push(compileGlob(value ?? ''));
  }
  const [subscription, resourceGroup, type, resource] = matchers;
  if (!subscription || !resourceGroup || !type || !resource || matchers.length !== 4) return undefined;
  return { subscription, resourceGroup, type, resource };
}

function compileOne(raw: RawTarget, at: string, problems: PolicyProblem[]): CompiledTarget | undefined {
  if (raw.id !== undefined) {
    const extra = (['subscription', 'resourceGroup', 'type', 'resource', 'cluster'] as const).filter(
      (field) => raw[field] !== undefined,
    );
    if (extra.length === 0) return exactTarget(raw.id, at, problems);
    problems.push({
      pointer: at,
      message: `use either "id" or subscription/resourceGroup/type/resource, not both (found ${extra.join(', ')})`,
    });
    return undefined;
  }
  const globs = globsOf(raw, at, problems);
  if (globs === undefined) return undefined;
  const typeLabel = raw.type === undefined ? 'AKS clusters' : `type ${globs.type.pattern}`;
  return {
    label: `subscription ${globs.subscription.pattern}, resource group ${globs.resourceGroup.pattern}, ${typeLabel}, resource ${globs.resource.pattern}`,
    matches: (target) =>
      globs.subscription.test(target.subscriptionId) &&
      globs.resourceGroup.test(target.resourceGroup) &&
      globs.type.test(target.provider.type) &&
      globs.resource.test(resourceName(target)),
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
