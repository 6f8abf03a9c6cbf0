import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ApprovalRequest, CallerIdentity, Decision, SourceName } from '../../../src/model/approval.js';
import { compileDescription, renderDescription } from '../../../src/policy/description.js';
import { evaluatePolicy } from '../../../src/policy/evaluate.js';
import { compileGlob } from '../../../src/policy/glob.js';
import { loadPolicy } from '../../../src/policy/loader.js';
import type { PolicyProblem } from '../../../src/policy/policy-error.js';
import { hasUnsafeCharacters } from '../../../src/policy/text.js';
import type { Policy, PolicyEvaluation, PolicyInput } from '../../../src/policy/types.js';
import {
  connectionId,
  CONSUMER_SUB,
  inputOf,
  MONDAY_10_AMSTERDAM,
  OTHER_SUB,
  policyOf,
  privateEndpointId,
  ruleNames,
  SUB,
} from './helpers.js';

const SOURCES: SourceName[] = ['generic', 'servicenow', 'teams', 'slack'];
const DECISIONS: Decision[] = ['Approved', 'Rejected'];

/** Independent of src/policy/glob.ts on purpose: a regular-expression reference implementation. */
const referenceGlob = (pattern: string, value: string): boolean =>
  new RegExp(
    `^${[...pattern.toLowerCase()]
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
    'su',
  ).test(value.toLowerCase());

// ---- random policies over a small vocabulary, so random requests hit and miss them often ----

interface GenTarget {
  subscription: string;
  resourceGroup: string;
  cluster: string;
}
interface GenRule {
  name: string;
  decisions: Decision[];
  targets: GenTarget[];
  callers: { source: SourceName; ids: string[] }[];
  consumers?: { subscriptions: string[] };
  tickets?: { required: boolean };
  approvers?: { separationOfDuties: boolean };
}

const targetArb: fc.Arbitrary<GenTarget> = fc.record({
  subscription: fc.constantFrom(SUB, OTHER_SUB, '*'),
  resourceGroup: fc.constantFrom('rg1', 'rg2', 'rg*', '*'),
  cluster: fc.constantFrom('aks-1', 'aks-*', 'web', '*', 'a?s-2'),
});

const ruleArb = (index: number): fc.Arbitrary<GenRule> =>
  fc
    .record({
      decisions: fc.subarray(DECISIONS, { minLength: 1 }),
      targets: fc.array(targetArb, { minLength: 1, maxLength: 2 }),
      callers: fc.array(
        fc.record({
          source: fc.constantFrom(...SOURCES),
          ids: fc.constantFrom<string[]>(['*'], ['u1'], ['u1', 'u2'], ['u*']),
        }),
        { minLength: 1, maxLength: 2 },
      ),
      consumerSubs: fc.constantFrom<string[]>(['*'], [CONSUMER_SUB]),
      tickets: fc.option(fc.record({ required: fc.boolean() }), { nil: undefined }),
      approvers: fc.option(fc.record({ separationOfDuties: fc.boolean() }), { nil: undefined }),
    })
    .map(({ consumerSubs, tickets, approvers, ...rest }) => ({
      name: `rule-${index}`,
      ...rest,
      ...(rest.decisions.includes('Approved') ? { consumers: { subscriptions: consumerSubs } } : {}),
      ...(tickets ? { tickets } : {}),
      ...(approvers ? { approvers } : {}),
    }));

const randomRulesArb: fc.Arbitrary<GenRule[]> = fc
  .integer({ min: 0, max: 3 })
  .chain((count) => fc.tuple(...Array.from({ length: count }, (_, i) => ruleArb(i))));

/** Covers every target and lists every caller: without it, a run of 300 could by chance allow nothing. */
const OPEN_RULE: GenRule = {
  name: 'rule-open',
  decisions: DECISIONS,
  targets: [{ subscription: '*', resourceGroup: '*', cluster: '*' }],
  callers: SOURCES.map((source) => ({ source, ids: ['*'] })),
  consumers: { subscriptions: ['*'] },
};

/** Half the policies hold the open rule, at a random place among the random ones. */
const rulesArb: fc.Arbitrary<GenRule[]> = fc.oneof(
  randomRulesArb,
  fc
    .tuple(randomRulesArb, fc.nat())
    .map(([rules, at]) => rules.toSpliced(at % (rules.length + 1), 0, OPEN_RULE)),
);

interface GenRequest {
  subscription: string;
  resourceGroup: string;
  cluster: string;
  decision: Decision;
  caller: CallerIdentity;
  status: string;
  ticket: boolean;
}

const requestArb: fc.Arbitrary<GenRequest> = fc.record({
  subscription: fc.constantFrom(SUB, OTHER_SUB, '44444444-4444-4444-4444-444444444444'),
  resourceGroup: fc.constantFrom('rg1', 'rg2', 'RG10', 'other'),
  cluster: fc.constantFrom('aks-1', 'AKS-2', 'web', 'zz-9', 'aks-a'),
  decision: fc.constantFrom(...DECISIONS),
  caller: fc.record({
    source: fc.constantFrom(...SOURCES),
    scheme: fc.constant('entra' as const),
    id: fc.constantFrom('u1', 'u2', 'U3', 'x'),
  }),
  status: fc.constantFrom('Pending', 'Approved', 'Rejected', 'Disconnected', 'Weird'),
  ticket: fc.boolean(),
});

const toInput = (r: GenRequest): PolicyInput =>
  inputOf({
    request: {
      connectionId: connectionId(r.cluster, r.resourceGroup, r.subscription),
      decision: r.decision,
      ...(r.ticket ? { ticket: { system: 'servicenow', id: 'CHG0031234' } } : {}),
    },
    caller: r.caller,
    connection: { status: r.status },
  });

const covers = (rule: GenRule, r: GenRequest): boolean =>
  rule.targets.some(
    (t) =>
      referenceGlob(t.subscription, r.subscription) &&
      referenceGlob(t.resourceGroup, r.resourceGroup) &&
      referenceGlob(t.cluster, r.cluster),
  );
const lists = (rule: GenRule, caller: CallerIdentity): boolean =>
  rule.callers.some((c) => c.source === caller.source && c.ids.some((id) => referenceGlob(id, caller.id)));

function expectWellFormed(result: PolicyEvaluation, policy: Policy): void {
  expect([200, 403, 409]).toContain(result.status);
  expect(result.allowed).toBe(result.status === 200);
  expect(result.reasons.length).toBeGreaterThan(0);
  for (const reason of result.reasons) {
    expect(reason.rule.length).toBeGreaterThan(0);
    expect(reason.message.length).toBeGreaterThan(0);
    expect(hasUnsafeCharacters(reason.message)).toBe(false);
    // The fail-closed safety net must never be what answered: that would hide a bug.
    expect(reason.rule).not.toBe('policy');
  }
  if (result.allowed) {
    // Always rendered when allowed: '' when the template rendered nothing (then none is written).
    expect(result.description).toEqual(expect.any(String));
    expect(result.description?.length ?? 0).toBeLessThanOrEqual(policy.connectionDescription.maxLength);
    expect(hasUnsafeCharacters(result.description ?? '')).toBe(false);
  } else {
    expect(result.description).toBeUndefined();
  }
}

describe('policy properties', () => {
  it('denies every request that no rule covers, lists, and grants', () => {
    fc.assert(
      fc.property(rulesArb, requestArb, (rules, request) => {
        const outside = rules.every(
          (rule) =>
            !(
              covers(rule, request) &&
              lists(rule, request.caller) &&
              rule.decisions.includes(request.decision)
            ),
        );
        fc.pre(outside);
        const policy = policyOf(rules);
        const result = evaluatePolicy(policy, toInput(request));
        expect(result.allowed).toBe(false);
        const covering = rules.filter((rule) => covers(rule, request));
        if (covering.length === 0) {
          expect(ruleNames(result.reasons)).toEqual(['targets']);
          expect(result.status).toBe(403);
        } else if (!covering.some((rule) => lists(rule, request.caller))) {
          expect(ruleNames(result.reasons)).toEqual(covering.map((rule) => `${rule.name}.callers`));
          expect(result.status).toBe(403);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('only ever allows through a rule that covers the target, lists the caller and grants the decision', () => {
    let allowedCount = 0;
    fc.assert(
      fc.property(rulesArb, requestArb, (rules, request) => {
        const policy = policyOf(rules);
        const result = evaluatePolicy(policy, toInput(request));
        expectWellFormed(result, policy);
        allowedCount += result.allowed ? 1 : 0;
        if (result.allowed) {
          const granting = rules.find((rule) => rule.name === result.reasons[0]?.rule);
          expect(granting).toBeDefined();
          if (granting === undefined) return;
          expect(covers(granting, request)).toBe(true);
          expect(lists(granting, request.caller)).toBe(true);
          expect(granting.decisions).toContain(request.decision);
          expect(['pending', 'approved', 'rejected']).toContain(request.status.toLowerCase());
        }
      }),
      { numRuns: 300 },
    );
    expect(allowedCount).toBeGreaterThan(0);
  });

  describe('reasons name each failing check (test/fixtures/policy/full.yaml)', () => {
    const full = loadPolicy('test/fixtures/policy/full.yaml');
    const SERVICENOW: CallerIdentity = {
      source: 'servicenow',
      scheme: 'standard-webhooks',
      id: 'servicenow-webhook-secret',
    };

    it('for every combination of failures', () => {
      fc.assert(
        fc.property(
          fc.record({
            foreignConsumer: fc.boolean(),
            noTicket: fc.boolean(),
            wrongSystem: fc.boolean(),
            wrongId: fc.boolean(),
            wrongState: fc.boolean(),
            selfApproval: fc.boolean(),
            foreignApprover: fc.boolean(),
            weekend: fc.boolean(),
            rejectedAlready: fc.boolean(),
          }),
          (f) => {
            const approver = f.foreignApprover ? 'eve@evil.example' : 'bob@contoso.com';
            const request: Partial<ApprovalRequest> = {
              approver,
              requester: f.selfApproval ? approver.toUpperCase() : 'alice@contoso.com',
              ticket: f.noTicket
                ? undefined
                : {
                    system: f.wrongSystem ? 'jira' : 'servicenow',
                    id: f.wrongId ? 'CHG12' : 'CHG0031234',
                    state: f.wrongState ? 'assess' : 'implement',
                  },
            };
            const result = evaluatePolicy(
              full,
              inputOf({
                request,
                caller: SERVICENOW,
                connection: {
                  status: f.rejectedAlready ? 'Rejected' : 'Pending',
                  privateEndpointId: privateEndpointId(f.foreignConsumer ? OTHER_SUB : CONSUMER_SUB),
                },
                now: f.weekend ? MONDAY_10_AMSTERDAM + 5 * 86_400_000 : MONDAY_10_AMSTERDAM,
              }),
            );
            const ruleFailures = [
              ...(f.foreignConsumer ? ['approve.consumers'] : []),
              ...(f.selfApproval ? ['approve.approvers'] : []),
              ...(f.foreignApprover ? ['approve.approvers'] : []),
              ...(f.noTicket ? ['approve.tickets'] : []),
              ...(!f.noTicket && f.wrongSystem ? ['approve.tickets'] : []),
              ...(!f.noTicket && f.wrongId ? ['approve.tickets'] : []),
              ...(!f.noTicket && f.wrongState ? ['approve.tickets'] : []),
              ...(f.weekend ? ['approve.changeWindows'] : []),
            ];
            const transitions = f.rejectedAlready ? ['transitions'] : [];
            if (ruleFailures.length === 0 && transitions.length === 0) {
              expect(result).toMatchObject({ allowed: true, status: 200 });
              return;
            }
            // A granting rule makes the other rules' complaints irrelevant; otherwise all are listed.
            const expected =
              ruleFailures.length === 0 ? transitions : [...transitions, ...ruleFailures, 'reject.decisions'];
            expect(ruleNames(result.reasons)).toEqual(expected);
            expect(result.status).toBe(f.rejectedAlready ? 409 : 403);
          },
        ),
        { numRuns: 400 },
      );
    });
  });

  describe('never throws', () => {
    const policies = [
      loadPolicy('test/fixtures/policy/full.yaml'),
      loadPolicy('policy/examples/production.yaml'),
      loadPolicy('policy/examples/sandbox.yaml'),
      loadPolicy('policy/policy.yaml'),
    ];
    const idArb = fc.oneof(
      fc.constant(connectionId()),
      fc.constant(connectionId('aks-prod-01', 'rg-prod-weu', '3f2c1b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b')),
      fc.string(),
      fc
        .string()
        .map(
          (s) =>
            `/subscriptions/${s}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/${s}/privateEndpointConnections/${s}`,
        ),
    );
    const optionalText = fc.option(fc.string({ unit: 'grapheme-composite', maxLength: 300 }), {
      nil: undefined,
    });
    const inputArb: fc.Arbitrary<PolicyInput> = fc
      .record({
        connectionId: idArb,
        decision: fc.constantFrom<Decision>('Approved', 'Rejected'),
        description: fc.option(fc.string({ unit: 'binary', maxLength: 500 }), { nil: undefined }),
        ticket: fc.option(fc.record({ system: fc.string(), id: fc.string(), state: optionalText }), {
          nil: undefined,
        }),
        requester: optionalText,
        approver: fc.option(fc.string({ unit: 'binary' }), { nil: undefined }),
        source: fc.constantFrom(...SOURCES),
        callerId: fc.string(),
        tenantId: fc.option(fc.string(), { nil: undefined }),
        groups: fc.option(fc.array(fc.string()), { nil: undefined }),
        status: fc.oneof(fc.constantFrom('Pending', 'Approved', 'Rejected', 'Disconnected'), fc.string()),
        privateEndpointId: fc.oneof(fc.constant(privateEndpointId()), fc.string(), fc.constant(undefined)),
        stateId: fc.oneof(fc.constant(undefined), fc.constant(''), fc.string()),
        now: fc.oneof(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.double()),
        consumerTenantId: fc.option(fc.string(), { nil: undefined }),
      })
      .map((g) => ({
        request: {
          connectionId: g.connectionId,
          decision: g.decision,
          ...(g.description !== undefined ? { description: g.description } : {}),
          ...(g.ticket !== undefined ? { ticket: { ...g.ticket, state: g.ticket.state } } : {}),
          ...(g.requester !== undefined ? { requester: g.requester } : {}),
          ...(g.approver !== undefined ? { approver: g.approver } : {}),
        },
        caller: {
          source: g.source,
          scheme: 'entra',
          id: g.callerId,
          ...(g.tenantId !== undefined ? { tenantId: g.tenantId } : {}),
          ...(g.groups !== undefined ? { groups: g.groups } : {}),
        },
        connection: {
          id: g.stateId ?? g.connectionId,
          name: 'x',
          status: g.status,
          ...(g.privateEndpointId !== undefined ? { privateEndpointId: g.privateEndpointId } : {}),
        },
        now: g.now,
        ...(g.consumerTenantId !== undefined ? { consumerTenantId: g.consumerTenantId } : {}),
      }));

    it('on random typed inputs, answering a well-formed decision', () => {
      const seen = new Set<number>();
      fc.assert(
        fc.property(fc.constantFrom(...policies), inputArb, (policy, input) => {
          const result = evaluatePolicy(policy, input);
          expectWellFormed(result, policy);
          seen.add(result.status);
        }),
        { numRuns: 1000 },
      );
      // The generator must reach every outcome, or the property proves less than it claims.
      expect([...seen].sort()).toEqual([200, 403, 409]);
    });

    it('on inputs that ignore the types entirely', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...policies),
          fc.anything(),
          fc.anything(),
          fc.anything(),
          fc.anything(),
          (policy, request, caller, connection, now) => {
            const result = evaluatePolicy(policy, {
              request,
              caller,
              connection,
              now,
            } as unknown as PolicyInput);
            expect([200, 403, 409]).toContain(result.status);
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  it('renders descriptions within the limit and free of unsafe characters', () => {
    fc.assert(
      fc.property(
        fc
          .string({ maxLength: 60 })
          .filter(
            (t) => !/[{}[\]\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069\u061c\u200e\u200f\ufeff]/u.test(t),
          ),
        fc.integer({ min: 16, max: 200 }),
        fc.record({
          decision: fc.string({ unit: 'binary' }),
          approver: fc.string({ unit: 'grapheme-composite', maxLength: 400 }),
          description: fc.string({ unit: 'binary', maxLength: 600 }),
          'ticket.id': fc.string(),
        }),
        (literal, maxLength, values) => {
          const problems: PolicyProblem[] = [];
          const compiled = compileDescription(
            `${literal}{decision}[ by {approver}][ ({ticket.id})][: {description}]`,
            maxLength,
            '/t',
            problems,
          );
          expect(problems).toEqual([]);
          const out = renderDescription(compiled, values);
          expect(out.length).toBeLessThanOrEqual(maxLength);
          expect(hasUnsafeCharacters(out)).toBe(false);
          expect(out).toBe(out.trim());
        },
      ),
      { numRuns: 500 },
    );
  });

  it('globs agree with a regular-expression reference', () => {
    const alphabet = fc.constantFrom('a', 'b', 'A', '-', '.', '😀');
    fc.assert(
      fc.property(
        fc.array(fc.oneof(alphabet, fc.constantFrom('*', '?')), { maxLength: 8 }).map((cs) => cs.join('')),
        fc.array(alphabet, { maxLength: 10 }).map((cs) => cs.join('')),
        (pattern, value) => {
          expect(compileGlob(pattern).test(value)).toBe(referenceGlob(pattern, value));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
