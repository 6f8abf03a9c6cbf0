import { describe, expect, it } from 'vitest';
import type { ApprovalRequest, CallerIdentity } from '../../../../src/model/approval.js';
import { evaluatePolicy } from '../../../../src/policy/evaluate.js';
import { baseRule, inputOf, policyOf, problemsOfPolicy } from '../helpers.js';

const GROUP = '5b3a1c2d-0000-4000-8000-000000000001';

interface Case {
  name: string;
  approvers: object;
  request?: Partial<ApprovalRequest>;
  caller?: Partial<CallerIdentity>;
  failures: number;
  mentions?: string;
}

const cases: Case[] = [
  { name: 'required and present', approvers: { required: true }, failures: 0 },
  {
    name: 'required and missing',
    approvers: { required: true },
    request: { approver: undefined },
    failures: 1,
    mentions: 'send "approver"',
  },
  { name: 'required and blank', approvers: { required: true }, request: { approver: '   ' }, failures: 1 },
  {
    name: 'not required and missing',
    approvers: { required: false },
    request: { approver: undefined },
    failures: 0,
  },
  { name: 'separation of duties, different people', approvers: { separationOfDuties: true }, failures: 0 },
  {
    name: 'separation of duties, same person',
    approvers: { separationOfDuties: true },
    request: { requester: 'bob@contoso.com' },
    failures: 1,
    mentions: 'someone other than the requester',
  },
  {
    name: 'separation of duties, same person in other casing and spacing',
    approvers: { separationOfDuties: true },
    request: { requester: ' BOB@Contoso.com ' },
    failures: 1,
  },
  {
    name: 'separation of duties, same person in full-width letters',
    approvers: { separationOfDuties: true },
    request: { requester: 'ｂｏｂ@contoso.com' },
    failures: 1,
  },
  // Characters that do not show: a zero-width space, a soft hyphen.
  ...['bob\u200b@contoso.com', 'b\u00adob@contoso.com'].map((requester) => ({
    name: `separation of duties, same person with ${JSON.stringify(requester)}`,
    approvers: { separationOfDuties: true },
    request: { requester },
    failures: 1,
  })),
  {
    name: 'separation of duties, approver missing',
    approvers: { separationOfDuties: true },
    request: { approver: undefined },
    failures: 1,
  },
  {
    name: 'separation of duties, requester missing',
    approvers: { separationOfDuties: true },
    request: { requester: undefined },
    failures: 1,
    mentions: 'send "requester"',
  },
  { name: 'identity glob matches', approvers: { identities: ['*@contoso.com'] }, failures: 0 },
  {
    name: 'identity glob does not match',
    approvers: { identities: ['*@contoso.com'] },
    request: { approver: 'eve@evil.example' },
    failures: 1,
    mentions: 'not one of the approvers',
  },
  {
    name: 'identity glob is anchored at both ends',
    approvers: { identities: ['*@contoso.com'] },
    request: { approver: 'eve@contoso.com.evil.example' },
    failures: 1,
  },
  {
    name: 'group carried by the caller',
    approvers: { groups: [GROUP] },
    caller: { groups: ['other', GROUP.toUpperCase()] },
    failures: 0,
  },
  { name: 'group not carried', approvers: { groups: [GROUP] }, caller: { groups: ['other'] }, failures: 1 },
  { name: 'group but token has no groups', approvers: { groups: [GROUP] }, failures: 1 },
  {
    name: 'identity or group: group suffices',
    approvers: { identities: ['carol@contoso.com'], groups: [GROUP] },
    caller: { groups: [GROUP] },
    failures: 0,
  },
  {
    name: 'identity or group: neither',
    approvers: { identities: ['carol@contoso.com'], groups: [GROUP] },
    failures: 1,
    mentions: 'none of the rule',
  },
  {
    name: 'everything wrong at once is reported at once',
    approvers: { required: true, separationOfDuties: true, identities: ['carol@contoso.com'] },
    request: { approver: undefined },
    failures: 2,
  },
];

describe('approvers', () => {
  it.each(cases)('$name', ({ approvers, request, caller, failures, mentions }) => {
    const policy = policyOf([{ ...baseRule, approvers }]);
    const result = evaluatePolicy(
      policy,
      inputOf({ ...(request ? { request } : {}), ...(caller ? { caller } : {}) }),
    );
    expect(result.allowed).toBe(failures === 0);
    const reasons = result.reasons.filter((reason) => reason.rule === 'r.approvers');
    expect(reasons).toHaveLength(failures);
    if (failures > 0) expect(result.status).toBe(403);
    if (mentions) expect(reasons.map((reason) => reason.message).join(' ')).toContain(mentions);
  });

  it('applies to rejections too when the rule grants them', () => {
    const policy = policyOf([{ ...baseRule, approvers: { separationOfDuties: true } }]);
    const result = evaluatePolicy(
      policy,
      inputOf({
        request: { decision: 'Rejected', requester: 'bob@contoso.com' },
        connection: { status: 'Approved' },
      }),
    );
    expect(result.allowed).toBe(false);
  });

  it.each([
    [{}, '/rules/0/approvers'],
    [{ required: 'yes' }, '/rules/0/approvers/required'],
    [{ identities: [] }, '/rules/0/approvers/identities'],
    [{ separationOfDuty: true }, '/rules/0/approvers/separationOfDuty'],
  ])('refuses approvers %j at load', (approvers, at) => {
    const problems = problemsOfPolicy({ version: 1, rules: [{ ...baseRule, approvers }] });
    expect(problems.map((problem) => problem.pointer)).toContain(at);
  });
});
