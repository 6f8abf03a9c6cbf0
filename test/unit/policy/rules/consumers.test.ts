import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../../src/model/approval.js';
import { evaluatePolicy } from '../../../../src/policy/evaluate.js';
import {
  baseRule,
  CONSUMER_SUB,
  inputOf,
  OTHER_SUB,
  policyOf,
  privateEndpointId,
  problemsOfPolicy,
} from '../helpers.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

interface Case {
  name: string;
  consumers: object;
  decision: Decision;
  privateEndpoint?: string;
  consumerTenantId?: string;
  allowed: boolean;
  messages?: number;
}

const cases: Case[] = [
  {
    name: 'listed subscription',
    consumers: { subscriptions: [CONSUMER_SUB] },
    decision: 'Approved',
    allowed: true,
  },
  {
    name: 'listed subscription, other casing',
    consumers: { subscriptions: [CONSUMER_SUB] },
    decision: 'Approved',
    privateEndpoint: privateEndpointId(CONSUMER_SUB).replace('resourceGroups', 'RESOURCEGROUPS'),
    allowed: true,
  },
  {
    name: 'unlisted subscription',
    consumers: { subscriptions: [CONSUMER_SUB] },
    decision: 'Approved',
    privateEndpoint: privateEndpointId(OTHER_SUB),
    allowed: false,
    messages: 1,
  },
  {
    name: 'rejecting an unlisted consumer',
    consumers: { subscriptions: [CONSUMER_SUB] },
    decision: 'Rejected',
    privateEndpoint: privateEndpointId(OTHER_SUB),
    allowed: true,
  },
  {
    name: 'approving with no private endpoint id',
    consumers: { subscriptions: ['*'] },
    decision: 'Approved',
    privateEndpoint: '',
    allowed: false,
    messages: 1,
  },
  {
    name: 'approving with a malformed private endpoint id',
    consumers: { subscriptions: ['*'] },
    decision: 'Approved',
    privateEndpoint: '/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/z',
    allowed: false,
    messages: 1,
  },
  {
    name: 'rejecting with no private endpoint id',
    consumers: { subscriptions: [CONSUMER_SUB] },
    decision: 'Rejected',
    privateEndpoint: '',
    allowed: true,
  },
  {
    name: 'any subscription accepts the spec example (non-UUID "subid2")',
    consumers: { subscriptions: ['*'] },
    decision: 'Approved',
    privateEndpoint:
      '/subscriptions/subid2/resourceGroups/rg2/providers/Microsoft.Network/privateEndpoints/pe2',
    allowed: true,
  },
  {
    name: 'subscription glob',
    consumers: { subscriptions: ['2222????-*'] },
    decision: 'Approved',
    allowed: true,
  },
  {
    name: 'tenant listed and known',
    consumers: { subscriptions: [CONSUMER_SUB], tenants: [TENANT] },
    decision: 'Approved',
    consumerTenantId: TENANT.toUpperCase(),
    allowed: true,
  },
  {
    name: 'tenant listed but unknown: fail closed',
    consumers: { subscriptions: [CONSUMER_SUB], tenants: [TENANT] },
    decision: 'Approved',
    allowed: false,
    messages: 1,
  },
  {
    name: 'tenant not listed, subscription not listed: both reported',
    consumers: { subscriptions: [CONSUMER_SUB], tenants: [TENANT] },
    decision: 'Approved',
    privateEndpoint: privateEndpointId(OTHER_SUB),
    consumerTenantId: '11111111-1111-1111-1111-111111111111',
    allowed: false,
    messages: 2,
  },
];

describe('consumers', () => {
  it.each(cases)('$name', ({ consumers, decision, privateEndpoint, consumerTenantId, allowed, messages }) => {
    const policy = policyOf([{ ...baseRule, consumers }]);
    const result = evaluatePolicy(
      policy,
      inputOf({
        request: { decision },
        connection: {
          status: decision === 'Rejected' ? 'Approved' : 'Pending',
          privateEndpointId: privateEndpoint ?? privateEndpointId(),
        },
        ...(consumerTenantId ? { consumerTenantId } : {}),
      }),
    );
    expect(result.allowed).toBe(allowed);
    if (!allowed) {
      expect(result.status).toBe(403);
      expect(result.reasons.filter((reason) => reason.rule === 'r.consumers')).toHaveLength(messages ?? 1);
      expect(result.reasons.every((reason) => reason.rule === 'r.consumers')).toBe(true);
    }
  });

  it('names the foreign subscription and says what to do', () => {
    const policy = policyOf([{ ...baseRule, consumers: { subscriptions: [CONSUMER_SUB] } }]);
    const result = evaluatePolicy(
      policy,
      inputOf({ connection: { privateEndpointId: privateEndpointId(OTHER_SUB) } }),
    );
    expect(result.reasons[0]?.message).toContain(OTHER_SUB);
    expect(result.reasons[0]?.message).toMatch(/reviewed and added|reject/);
  });

  it.each([
    [{ ...baseRule, consumers: undefined }, '/rules/0/consumers'],
    [{ ...baseRule, decisions: ['Rejected'] }, '/rules/0/consumers'],
    [{ ...baseRule, consumers: { subscriptions: ['subid2'] } }, '/rules/0/consumers/subscriptions/0'],
    [
      { ...baseRule, consumers: { subscriptions: ['*'], tenants: ['contoso'] } },
      '/rules/0/consumers/tenants/0',
    ],
    [{ ...baseRule, consumers: { tenants: ['*'] } }, '/rules/0/consumers/subscriptions'],
  ])('refuses %j at load', (rule, at) => {
    const problems = problemsOfPolicy({ version: 1, rules: [rule] });
    expect(problems.map((problem) => problem.pointer)).toContain(at);
  });
});
