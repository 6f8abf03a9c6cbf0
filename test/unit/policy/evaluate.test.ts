import { describe, expect, it } from 'vitest';
import type { ApprovalRequest, CallerIdentity } from '../../../src/model/approval.js';
import { evaluatePolicy } from '../../../src/policy/evaluate.js';
import { loadPolicy } from '../../../src/policy/loader.js';
import type { PolicyInput } from '../../../src/policy/types.js';
import {
  baseRule,
  connectionId,
  inputOf,
  MONDAY_10_AMSTERDAM,
  OTHER_SUB,
  policyOf,
  privateEndpointId,
  ruleNames,
  SUB,
} from './helpers.js';

const full = loadPolicy('test/fixtures/policy/full.yaml');
const production = loadPolicy('policy/examples/production.yaml');
const sandbox = loadPolicy('policy/examples/sandbox.yaml');

const SERVICENOW: Partial<CallerIdentity> = {
  source: 'servicenow',
  scheme: 'standard-webhooks',
  id: 'servicenow-webhook-secret',
};
const TEAMS: Partial<CallerIdentity> = { source: 'teams', scheme: 'teams-hmac', id: '29:1abc' };
const STRANGER: Partial<CallerIdentity> = { source: 'slack', scheme: 'slack-v0', id: 'U999' };
const GOOD_REQUEST: Partial<ApprovalRequest> = {
  ticket: { system: 'servicenow', id: 'CHG0031234', state: 'implement' },
  description: 'Payments team needs the API server',
};

describe('evaluatePolicy', () => {
  it('allows a request that passes every check, naming the rule and rendering the description', () => {
    const result = evaluatePolicy(full, inputOf({ request: GOOD_REQUEST, caller: SERVICENOW }));
    expect(result).toEqual({
      allowed: true,
      status: 200,
      reasons: [{ rule: 'approve', message: 'Approved allowed by rule "approve"' }],
      description:
        'CHG0031234 Approved by bob@contoso.com via servicenow (approve): Payments team needs the API server',
    });
  });

  it('lists every failing check of every covering rule, in document order', () => {
    const result = evaluatePolicy(
      full,
      inputOf({
        request: { ticket: { system: 'jira', id: 'X-1', state: 'new' }, requester: 'bob@contoso.com' },
        caller: SERVICENOW,
        connection: { privateEndpointId: privateEndpointId(OTHER_SUB) },
        now: Date.parse('2025-06-07T10:00:00Z'),
      }),
    );
    expect(result).toMatchObject({ allowed: false, status: 403 });
    expect(result.description).toBeUndefined();
    expect(ruleNames(result.reasons)).toEqual([
      'approve.consumers',
      'approve.approvers',
      'approve.tickets',
      'approve.tickets',
      'approve.tickets',
      'approve.changeWindows',
      'reject.decisions',
    ]);
  });

  it('tells a caller that may only reject why it cannot approve', () => {
    const result = evaluatePolicy(full, inputOf({ request: GOOD_REQUEST, caller: TEAMS }));
    expect(result.status).toBe(403);
    expect(ruleNames(result.reasons)).toEqual(['approve.callers', 'reject.decisions']);
    expect(result.reasons[1]?.message).toContain('grants only Rejected');
  });

  it('lets a chat caller reject without ticket, approver or change window', () => {
    const result = evaluatePolicy(
      full,
      inputOf({
        request: { decision: 'Rejected', approver: undefined, requester: undefined },
        caller: TEAMS,
        connection: { status: 'Approved' },
        now: Date.parse('2025-06-08T03:00:00Z'),
      }),
    );
    expect(result).toMatchObject({ allowed: true, status: 200, description: 'Rejected via teams (reject)' });
  });

  it("keeps the consumer's request message where a template appends {connection.description}", () => {
    const policy = policyOf([baseRule], {
      connectionDescription: { template: '{decision}[ by {approver}][ (asked: {connection.description})]' },
    });
    const asked = inputOf({ connection: { description: 'Build agents of the platform team' } });
    expect(evaluatePolicy(policy, asked).description).toBe(
      'Approved by bob@contoso.com (asked: Build agents of the platform team)',
    );
    // A connection that carried none: the optional part is left out.
    expect(evaluatePolicy(policy, inputOf({})).description).toBe('Approved by bob@contoso.com');
  });

  describe('a caller no covering rule lists', () => {
    it.each(['Pending', 'Approved', 'Rejected', 'Disconnected', 'Provisioning'])(
      'gets 403 and only callers reasons when the connection is %s (no state leaks)',
      (status) => {
        const result = evaluatePolicy(full, inputOf({ caller: STRANGER, connection: { status } }));
        expect(result.status).toBe(403);
        expect(ruleNames(result.reasons)).toEqual(['approve.callers', 'reject.callers']);
        const text = JSON.stringify(result.reasons);
        for (const word of ['Pending', 'Approved', 'Rejected', 'Disconnected', 'Provisioning', '22222222']) {
          expect(text).not.toContain(word);
        }
      },
    );

    it('is refused for a no-op too', () => {
      const result = evaluatePolicy(full, inputOf({ caller: STRANGER, connection: { status: 'Approved' } }));
      expect(result).toMatchObject({ allowed: false, status: 403 });
    });
  });

  it('answers 409 with only the transition when some rule would otherwise grant', () => {
    const result = evaluatePolicy(
      full,
      inputOf({ request: GOOD_REQUEST, caller: SERVICENOW, connection: { status: 'Rejected' } }),
    );
    expect(result.status).toBe(409);
    expect(ruleNames(result.reasons)).toEqual(['transitions']);
  });

  it('allows a no-op for an allowed caller (the pipeline answers "unchanged")', () => {
    const result = evaluatePolicy(
      full,
      inputOf({ request: GOOD_REQUEST, caller: SERVICENOW, connection: { status: 'Approved' } }),
    );
    expect(result).toMatchObject({ allowed: true, status: 200 });
  });

  it('accepts connection state whose id Resource Manager spelled differently', () => {
    const armId = connectionId()
      .replace('resourceGroups', 'resourcegroups')
      .replace('managedClusters', 'managedCluster')
      .replace('pe1', 'PE1');
    const result = evaluatePolicy(
      full,
      inputOf({ request: GOOD_REQUEST, caller: SERVICENOW, connection: { id: armId } }),
    );
    expect(result.allowed).toBe(true);
  });

  it.each([
    ['another connection', connectionId('clustername1', 'rg1', SUB, 'pe9')],
    ['another cluster', connectionId('other')],
    ['garbage', 'not an id'],
  ])('refuses when the connection state is for %s', (_name, id) => {
    const result = evaluatePolicy(
      full,
      inputOf({ request: GOOD_REQUEST, caller: SERVICENOW, connection: { id } }),
    );
    expect(result).toMatchObject({ allowed: false, status: 403 });
    expect(ruleNames(result.reasons)).toEqual(['connection']);
  });

  it('refuses an unknown decision', () => {
    const request = { decision: 'Maybe' } as unknown as Partial<ApprovalRequest>;
    const result = evaluatePolicy(full, inputOf({ request, caller: SERVICENOW }));
    expect(result).toMatchObject({ allowed: false, status: 403 });
    expect(ruleNames(result.reasons)).toEqual(['request']);
  });

  it('rules only grant: any passing rule allows, the first one in the document is named', () => {
    const strict = { ...baseRule, name: 'strict', tickets: { required: true } };
    const lenient = { ...baseRule, name: 'lenient' };
    const other = { ...baseRule, name: 'other' };
    const policy = policyOf([strict, lenient, other]);
    const result = evaluatePolicy(policy, inputOf());
    expect(result.reasons).toEqual([{ rule: 'lenient', message: 'Approved allowed by rule "lenient"' }]);
    expect(evaluatePolicy(policyOf([strict]), inputOf()).allowed).toBe(false);
  });

  it('ignores rules that do not cover the target', () => {
    const elsewhere = {
      ...baseRule,
      name: 'elsewhere',
      targets: [{ subscription: OTHER_SUB, resourceGroup: '*', cluster: '*' }],
      tickets: { required: true },
    };
    const result = evaluatePolicy(
      policyOf([elsewhere, { ...baseRule, approvers: { required: true } }]),
      inputOf({ request: { approver: undefined } }),
    );
    expect(ruleNames(result.reasons)).toEqual(['r.approvers']);
  });

  it('does not modify its input', () => {
    const input = inputOf({ request: GOOD_REQUEST, caller: SERVICENOW });
    const snapshot = structuredClone(input);
    evaluatePolicy(full, deepFreeze(input));
    expect(input).toEqual(snapshot);
  });

  it('fails closed instead of throwing when the input is not what the types promise', () => {
    const broken = {
      request: { connectionId: connectionId(), decision: 'Approved' },
      now: 0,
    } as unknown as PolicyInput;
    const result = evaluatePolicy(full, broken);
    expect(result).toMatchObject({ allowed: false, status: 403 });
  });

  it('is deterministic: the same input gives the same answer', () => {
    const input = inputOf({ request: GOOD_REQUEST, caller: SERVICENOW });
    expect(evaluatePolicy(full, input)).toEqual(evaluatePolicy(full, input));
  });

  describe('policy/examples/production.yaml', () => {
    const prodConnection = connectionId('aks-prod-01', 'rg-prod-weu', '3f2c1b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b');
    const prodInput = (overrides: Parameters<typeof inputOf>[0] = {}) =>
      inputOf({
        ...overrides,
        request: { connectionId: prodConnection, ...GOOD_REQUEST, ...overrides.request },
        connection: {
          id: prodConnection,
          privateEndpointId: privateEndpointId('6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d'),
          ...overrides.connection,
        },
      });

    it('lets ServiceNow approve a reviewed change in office hours', () => {
      const result = evaluatePolicy(production, prodInput({ caller: SERVICENOW }));
      expect(result).toMatchObject({ allowed: true, status: 200 });
      expect(result.description).toBe(
        'CHG0031234 Approved by bob@contoso.com via servicenow: Payments team needs the API server',
      );
    });

    it('refuses the same approval on Saturday', () => {
      const result = evaluatePolicy(
        production,
        prodInput({ caller: SERVICENOW, now: MONDAY_10_AMSTERDAM + 5 * 86_400_000 }),
      );
      expect(ruleNames(result.reasons)).toEqual(['prod-approve.changeWindows', 'prod-reject.decisions']);
    });

    it('refuses an approval from Teams but lets Teams from our tenant reject', () => {
      const teams = { ...TEAMS, tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47' };
      expect(evaluatePolicy(production, prodInput({ caller: teams })).allowed).toBe(false);
      const reject = evaluatePolicy(
        production,
        prodInput({ caller: teams, request: { decision: 'Rejected' }, connection: { status: 'Approved' } }),
      );
      expect(reject).toMatchObject({ allowed: true, status: 200 });
      const foreign = evaluatePolicy(
        production,
        prodInput({ caller: { ...teams, tenantId: 'f00' }, request: { decision: 'Rejected' } }),
      );
      expect(ruleNames(foreign.reasons)).toEqual(['prod-approve.callers', 'prod-reject.callers']);
    });

    it('covers only production clusters', () => {
      const result = evaluatePolicy(production, inputOf({ caller: SERVICENOW }));
      expect(ruleNames(result.reasons)).toEqual(['targets']);
    });
  });

  describe('policy/examples/sandbox.yaml', () => {
    it.each<Partial<CallerIdentity>>([
      { source: 'generic', scheme: 'entra', id: 'app' },
      SERVICENOW,
      TEAMS,
      STRANGER,
    ])('lets %j approve the spec example connection without a ticket', (caller) => {
      const result = evaluatePolicy(
        sandbox,
        inputOf({
          caller,
          request: { connectionId: connectionId('clustername1', 'rg1', SUB, 'privateendpointconnection1') },
          connection: {
            id: connectionId('clustername1', 'rg1', SUB, 'privateendpointconnection1'),
            privateEndpointId:
              '/subscriptions/subid2/resourceGroups/rg2/providers/Microsoft.Network/privateEndpoints/pe2',
          },
        }),
      );
      expect(result).toMatchObject({ allowed: true, status: 200 });
    });

    it('covers every cluster of the second seeded subscription', () => {
      const id = connectionId(
        'aks-prod_01',
        'rg-aks.prod_weu',
        '11111111-1111-1111-1111-111111111111',
        'pe-x',
      );
      const result = evaluatePolicy(sandbox, inputOf({ request: { connectionId: id }, connection: { id } }));
      expect(result.allowed).toBe(true);
    });

    it('covers every cluster (so Resource Manager answers 404s) but still refuses Rejected → Approved', () => {
      expect(
        evaluatePolicy(sandbox, inputOf({ request: { connectionId: connectionId('emptycluster', 'rg9') } }))
          .status,
      ).toBe(200);
      expect(evaluatePolicy(sandbox, inputOf({ connection: { status: 'Rejected' } })).status).toBe(409);
    });
  });
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
