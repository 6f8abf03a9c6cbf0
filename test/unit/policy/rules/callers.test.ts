import { describe, expect, it } from 'vitest';
import type { CallerIdentity } from '../../../../src/model/approval.js';
import { evaluatePolicy } from '../../../../src/policy/evaluate.js';
import { baseRule, inputOf, policyOf, problemsOfPolicy } from '../helpers.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

const decide = (callers: object[], caller: Partial<CallerIdentity>) =>
  evaluatePolicy(policyOf([{ ...baseRule, callers }]), inputOf({ caller }));

describe('callers', () => {
  it.each<[string, object[], Partial<CallerIdentity>, boolean]>([
    ['any id of the source', [{ source: 'generic', ids: ['*'] }], { source: 'generic', id: 'x' }, true],
    [
      'other source',
      [{ source: 'generic', ids: ['*'] }],
      { source: 'slack', scheme: 'slack-v0', id: 'U1' },
      false,
    ],
    [
      'exact id',
      [{ source: 'slack', ids: ['U0123'] }],
      { source: 'slack', scheme: 'slack-v0', id: 'U0123' },
      true,
    ],
    ['exact id, other casing', [{ source: 'slack', ids: ['U0123'] }], { source: 'slack', id: 'u0123' }, true],
    ['exact id, other id', [{ source: 'slack', ids: ['U0123'] }], { source: 'slack', id: 'U0124' }, false],
    ['glob id', [{ source: 'generic', ids: ['app-*'] }], { id: 'app-logic' }, true],
    [
      'tenant listed',
      [{ source: 'generic', ids: ['*'], tenants: [TENANT] }],
      { tenantId: TENANT.toUpperCase() },
      true,
    ],
    [
      'tenant not listed',
      [{ source: 'generic', ids: ['*'], tenants: [TENANT] }],
      { tenantId: 'other' },
      false,
    ],
    ['tenant required but unknown', [{ source: 'generic', ids: ['*'], tenants: [TENANT] }], {}, false],
    ['scheme listed', [{ source: 'generic', ids: ['*'], schemes: ['entra'] }], { scheme: 'entra' }, true],
    [
      'scheme not listed',
      [{ source: 'generic', ids: ['*'], schemes: ['entra'] }],
      { scheme: 'standard-webhooks' },
      false,
    ],
    [
      'second entry matches',
      [
        { source: 'teams', ids: ['*'] },
        { source: 'generic', ids: ['*'] },
      ],
      {},
      true,
    ],
  ])('%s', (_name, callers, caller, allowed) => {
    const result = decide(callers, caller);
    expect(result.allowed).toBe(allowed);
    if (!allowed) {
      expect(result.status).toBe(403);
      expect(result.reasons.map((reason) => reason.rule)).toEqual(['r.callers']);
    }
  });

  it('does not tell a refused caller anything about the connection or the rule list', () => {
    const result = decide([{ source: 'servicenow', ids: ['servicenow-webhook-secret'] }], {
      source: 'teams',
      scheme: 'teams-hmac',
      id: 'mallory',
    });
    const text = JSON.stringify(result);
    expect(result.status).toBe(403);
    expect(text).toContain('mallory');
    expect(text).not.toContain('servicenow-webhook-secret');
    expect(text).not.toContain('Pending');
  });

  it.each([
    [[{ source: 'email', ids: ['*'] }], '/rules/0/callers/0/source'],
    [[{ source: 'generic' }], '/rules/0/callers/0/ids'],
    [[{ source: 'generic', ids: [] }], '/rules/0/callers/0/ids'],
    [[{ source: 'generic', ids: ['*'], schemes: ['basic'] }], '/rules/0/callers/0/schemes/0'],
    [[], '/rules/0/callers'],
  ])('refuses callers %j at load', (callers, at) => {
    const problems = problemsOfPolicy({ version: 1, rules: [{ ...baseRule, callers }] });
    expect(problems.map((problem) => problem.pointer)).toContain(at);
  });
});
