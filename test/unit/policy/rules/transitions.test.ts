import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../../src/model/approval.js';
import { evaluatePolicy } from '../../../../src/policy/evaluate.js';
import { baseRule, inputOf, policyOf, problemsOfPolicy } from '../helpers.js';

const policy = policyOf([baseRule]);
const decide = (status: string, decision: Decision, p = policy) =>
  evaluatePolicy(p, inputOf({ request: { decision }, connection: { status } }));

describe('transitions (defaults)', () => {
  it.each<[string, Decision, 200 | 409]>([
    ['Pending', 'Approved', 200],
    ['Pending', 'Rejected', 200],
    ['Approved', 'Rejected', 200],
    ['Approved', 'Approved', 200],
    ['Rejected', 'Rejected', 200],
    ['Rejected', 'Approved', 409],
    ['Disconnected', 'Approved', 409],
    ['Disconnected', 'Rejected', 409],
    ['pending', 'Approved', 200],
    ['APPROVED', 'Approved', 200],
    ['Provisioning', 'Approved', 409],
    ['Provisioning', 'Rejected', 409],
    ['', 'Rejected', 409],
  ])('%s → %s answers %d', (status, decision, expected) => {
    const result = decide(status, decision);
    expect(result.status).toBe(expected);
    expect(result.allowed).toBe(expected === 200);
    if (expected === 409) expect(result.reasons.map((reason) => reason.rule)).toEqual(['transitions']);
  });

  it('explains why a rejected connection cannot be approved and what to do', () => {
    const message = decide('Rejected', 'Approved').reasons[0]?.message ?? '';
    expect(message).toContain('cannot approve a rejected connection');
    expect(message).toContain('re-create');
  });

  it('names an unknown status', () => {
    expect(decide('Provisioning', 'Approved').reasons[0]?.message).toContain('"Provisioning"');
  });

  it('can be narrowed by the policy, answering 409', () => {
    const noRevocation = policyOf([baseRule], { transitions: { Pending: ['Approved', 'Rejected'] } });
    const result = decide('Approved', 'Rejected', noRevocation);
    expect(result).toMatchObject({ allowed: false, status: 409 });
    expect(result.reasons[0]?.message).toContain('Approved → Rejected');
    expect(decide('Approved', 'Approved', noRevocation).allowed).toBe(true);
  });

  it('reports transitions together with every other failing check, answering 409', () => {
    const strict = policyOf([{ ...baseRule, tickets: { required: true } }]);
    const result = decide('Rejected', 'Approved', strict);
    expect(result.status).toBe(409);
    expect(result.reasons.map((reason) => reason.rule)).toEqual(['transitions', 'r.tickets']);
  });

  it.each([
    [{ Rejected: ['Approved'] }, '/defaults/transitions/Rejected'],
    [{ Disconnected: ['Rejected'] }, '/defaults/transitions/Disconnected'],
    [{ Provisioning: ['Approved'] }, '/defaults/transitions/Provisioning'],
    [{ Pending: ['Approve'] }, '/defaults/transitions/Pending/0'],
  ])('refuses %j at load', (transitions, at) => {
    const problems = problemsOfPolicy({ version: 1, defaults: { transitions }, rules: [] });
    expect(problems.map((problem) => problem.pointer)).toContain(at);
  });
});
