import { stringify } from 'yaml';
import type { ApprovalRequest, CallerIdentity, ConnectionState } from '../../../src/model/approval.js';
import { parsePolicy } from '../../../src/policy/loader.js';
import { PolicyError } from '../../../src/policy/policy-error.js';
import type { PolicyProblem } from '../../../src/policy/policy-error.js';
import type { Policy, PolicyInput } from '../../../src/policy/types.js';

export const SUB = '00000000-0000-0000-0000-000000000000';
export const CONSUMER_SUB = '22222222-2222-2222-2222-222222222222';
export const OTHER_SUB = '33333333-3333-3333-3333-333333333333';

export const connectionId = (
  cluster = 'clustername1',
  resourceGroup = 'rg1',
  subscription = SUB,
  name = 'pe1',
): string =>
  `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${cluster}/privateEndpointConnections/${name}`;

export const privateEndpointId = (subscription = CONSUMER_SUB, name = 'pe2'): string =>
  `/subscriptions/${subscription}/resourceGroups/rg-consumer/providers/Microsoft.Network/privateEndpoints/${name}`;

/** Monday 2025-06-02 10:00 in Amsterdam (UTC+2 in summer). */
export const MONDAY_10_AMSTERDAM = Date.parse('2025-06-02T08:00:00Z');

/** A rule that covers the default connection for any generic caller and any consumer, and nothing more. */
export const baseRule = {
  name: 'r',
  decisions: ['Approved', 'Rejected'],
  targets: [{ subscription: SUB, resourceGroup: 'rg1', cluster: 'clustername1' }],
  callers: [{ source: 'generic', ids: ['*'] }],
  consumers: { subscriptions: ['*'] },
};

export function policyOf(rules: object[], defaults?: object): Policy {
  return parsePolicy(stringify({ version: 1, ...(defaults ? { defaults } : {}), rules }), 'test-policy.yaml');
}

export interface InputOverrides {
  request?: Partial<ApprovalRequest>;
  caller?: Partial<CallerIdentity>;
  connection?: Partial<ConnectionState>;
  now?: number;
  consumerTenantId?: string;
}

export function inputOf(overrides: InputOverrides = {}): PolicyInput {
  const request: ApprovalRequest = {
    connectionId: connectionId(),
    decision: 'Approved',
    requester: 'alice@contoso.com',
    approver: 'bob@contoso.com',
    ...overrides.request,
  };
  return {
    request,
    caller: { source: 'generic', scheme: 'entra', id: 'caller-1', ...overrides.caller },
    connection: {
      id: request.connectionId,
      name: 'pe1',
      status: 'Pending',
      privateEndpointId: privateEndpointId(),
      ...overrides.connection,
    },
    now: overrides.now ?? MONDAY_10_AMSTERDAM,
    ...(overrides.consumerTenantId !== undefined ? { consumerTenantId: overrides.consumerTenantId } : {}),
  };
}

/** The problems a document produces (fails the test if it loads). */
export function problemsOf(text: string): PolicyProblem[] {
  try {
    parsePolicy(text, 'test-policy.yaml');
  } catch (error) {
    if (error instanceof PolicyError) return error.problems;
    throw error;
  }
  throw new Error('expected the policy to be rejected');
}

export const problemsOfPolicy = (document: object): PolicyProblem[] => problemsOf(stringify(document));

export const ruleNames = (reasons: { rule: string }[]): string[] => reasons.map((reason) => reason.rule);
