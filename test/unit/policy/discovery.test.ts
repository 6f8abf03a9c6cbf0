import { describe, expect, it } from 'vitest';
import { evaluatePolicy, expiryFor } from '../../../src/policy/index.js';
import { parseConnectionId } from '../../../src/model/resource-id.js';
import { DISCOVERY_CALLER } from '../../../src/discovery/act.js';
import { baseRule, connectionId, inputOf, policyOf, problemsOfPolicy, SUB } from './helpers.js';

/**
 * Discovery is a caller like any other: a rule grants `source: discovery` (its one identity, `scan`) or it may do
 * nothing; `expireAfterDays` says how long a Pending connection may wait before discovery rejects it.
 */

const discovery = { ...baseRule, callers: [{ source: 'discovery', ids: ['scan'] }] };
const target = parseConnectionId(connectionId());

describe('the discovery caller', () => {
  it('is allowed only by a rule that lists it', () => {
    const granted = policyOf([discovery]);
    const input = inputOf({ caller: DISCOVERY_CALLER });
    expect(evaluatePolicy(granted, input).allowed).toBe(true);
    expect(evaluatePolicy(policyOf([baseRule]), input).allowed).toBe(false);
  });

  it('a rule for other sources does not let discovery act, even with ids *', () => {
    const others = {
      ...baseRule,
      callers: [
        { source: 'slack', ids: ['*'] },
        { source: 'generic', ids: ['*'] },
      ],
    };
    expect(evaluatePolicy(policyOf([others]), inputOf({ caller: DISCOVERY_CALLER })).allowed).toBe(false);
  });
});

describe('expireAfterDays', () => {
  const expiring = (name: string, days: number, decisions = ['Rejected']) => ({
    ...discovery,
    name,
    decisions,
    expireAfterDays: days,
    consumers: undefined,
  });

  it('is the shortest among the rules that cover the connection, list discovery and allow Rejected', () => {
    const policy = policyOf([expiring('long', 30), expiring('short', 7)]);
    expect(expiryFor(policy, target, DISCOVERY_CALLER)).toEqual({ days: 7, rule: 'short' });
  });

  it('takes fractions of a day', () => {
    expect(expiryFor(policyOf([expiring('hours', 0.25)]), target, DISCOVERY_CALLER)).toEqual({
      days: 0.25,
      rule: 'hours',
    });
  });

  it('does not apply from a rule for another target', () => {
    const otherTarget = {
      ...expiring('elsewhere', 1),
      targets: [{ subscription: SUB, resourceGroup: 'rg-other', cluster: '*' }],
    };
    expect(expiryFor(policyOf([otherTarget]), target, DISCOVERY_CALLER)).toBeUndefined();
  });

  it('is refused where it could never apply: a rule that cannot reject, or does not list discovery', () => {
    const approveOnly = { ...discovery, name: 'approve-only', decisions: ['Approved'], expireAfterDays: 1 };
    const otherCaller = { ...expiring('slack', 1), callers: [{ source: 'slack', ids: ['*'] }] };
    // Listing source: discovery is not enough when the entry cannot match the scan (which has no tenant).
    const withTenants = {
      ...expiring('tenants', 1),
      callers: [{ source: 'discovery', ids: ['scan'], tenants: [SUB] }],
    };
    for (const rule of [approveOnly, otherCaller, withTenants]) {
      const problems = problemsOfPolicy({ version: 1, rules: [rule] });
      expect(problems.map((p) => p.pointer)).toContain('/rules/0/expireAfterDays');
    }
  });

  it('must be a positive number of days, at most ten years', () => {
    for (const days of [0, -1, 3651, 'seven']) {
      const problems = problemsOfPolicy({ version: 1, rules: [{ ...discovery, expireAfterDays: days }] });
      expect(problems.some((p) => p.pointer.includes('expireAfterDays'))).toBe(true);
    }
  });
});
