import { anyMatches, compileGlob, hasGlob } from '../glob.js';
import type { PolicyProblem } from '../policy-error.js';
import { pointer } from '../policy-error.js';
import { quote } from '../text.js';
import type { CompiledConsumers, EvaluationContext } from '../types.js';
import { isUuid } from '../../model/uuid.js';

/**
 * consumers: whose private endpoints a rule lets in, judged by the subscription of
 * `connection.privateEndpointId` (and the consumer's tenant when the pipeline knows it).
 * Only approvals are checked: approving lets a network in, rejecting shuts it out, so rejecting an unknown or
 * foreign consumer is always acceptable as far as this rule kind goes. Required on every rule that grants
 * Approved, so the breadth is always written down ("*" means any consumer).
 * Syntax and examples: docs/policy.md#consumers.
 */

export interface RawConsumers {
  subscriptions: string[];
  tenants?: string[];
}

const SUBSCRIPTION_GLOB = /^[0-9a-f*?-]+$/i;

export const consumersSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['subscriptions'],
  properties: {
    subscriptions: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', minLength: 1, maxLength: 64 },
    },
    tenants: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', minLength: 1, maxLength: 64 },
    },
  },
} as const;

export function compileConsumers(
  raw: RawConsumers,
  at: string,
  problems: PolicyProblem[],
): CompiledConsumers {
  raw.subscriptions.forEach((subscription, index) => {
    const ok = hasGlob(subscription) ? SUBSCRIPTION_GLOB.test(subscription) : isUuid(subscription);
    if (!ok) {
      problems.push({
        pointer: pointer(at, 'subscriptions', index),
        message: 'must be a subscription id (UUID) or a glob of one such as "*"',
      });
    }
  });
  raw.tenants?.forEach((tenant, index) => {
    if (!isUuid(tenant)) {
      problems.push({ pointer: pointer(at, 'tenants', index), message: 'must be an Entra tenant id (UUID)' });
    }
  });
  return {
    subscriptions: raw.subscriptions.map(compileGlob),
    ...(raw.tenants ? { tenants: new Set(raw.tenants.map((t) => t.toLowerCase())) } : {}),
  };
}

export function checkConsumers(consumers: CompiledConsumers, ctx: EvaluationContext): string[] {
  if (ctx.request.decision !== 'Approved') return [];
  const consumer = ctx.consumer;
  if (consumer === undefined) {
    return [
      'the connection names no recognisable private endpoint (properties.privateEndpoint.id), so its consumer cannot be checked; approvals need a consumer in an allowed subscription',
    ];
  }
  const messages: string[] = [];
  if (!anyMatches(consumers.subscriptions, consumer.subscriptionId)) {
    messages.push(
      `the private endpoint is in subscription ${quote(consumer.subscriptionId)}, which this rule does not accept as a consumer; have the consumer reviewed and added to consumers.subscriptions, or reject the connection`,
    );
  }
  if (consumers.tenants) {
    const tenant = ctx.consumerTenantId;
    if (typeof tenant !== 'string' || tenant === '') {
      messages.push(
        "the consumer's tenant is unknown and this rule only accepts consumers from listed tenants; approve through a rule without consumers.tenants after checking the tenant by hand",
      );
    } else if (!consumers.tenants.has(tenant.toLowerCase())) {
      messages.push(`the consumer's tenant ${quote(tenant)} is not one this rule accepts`);
    }
  }
  return messages;
}
