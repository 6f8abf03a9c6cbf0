import { describe, expect, it } from 'vitest';
import type { Ticket } from '../../../../src/model/approval.js';
import { evaluatePolicy } from '../../../../src/policy/evaluate.js';
import { baseRule, inputOf, policyOf, problemsOfPolicy } from '../helpers.js';

const strict = { required: true, systems: ['servicenow'], idPattern: '^CHG\\d{7}$', states: ['implement'] };
const good: Ticket = { system: 'servicenow', id: 'CHG0031234', state: 'implement' };

describe('tickets', () => {
  it.each<[string, object, Ticket | undefined, number, string?]>([
    ['all good', strict, good, 0],
    ['system in other casing', strict, { ...good, system: 'ServiceNow' }, 0],
    ['state in other casing', strict, { ...good, state: 'Implement' }, 0],
    ['missing when required', strict, undefined, 1, 'requires a ticket'],
    ['missing when optional', { required: false }, undefined, 0],
    [
      'present when optional is still checked',
      { required: false, idPattern: '^CHG\\d{7}$' },
      { ...good, id: 'x' },
      1,
    ],
    ['wrong system', strict, { ...good, system: 'jira' }, 1, 'use one of: servicenow'],
    ['id too short', strict, { ...good, id: 'CHG123' }, 1, '^CHG\\d{7}$'],
    ['id with a suffix', strict, { ...good, id: 'CHG0031234x' }, 1],
    ['id with a prefix', strict, { ...good, id: 'xCHG0031234' }, 1],
    ['id with a newline', strict, { ...good, id: 'CHG0031234\nCHG0031235' }, 1],
    ['id absurdly long', { required: false, idPattern: '.*' }, { ...good, id: 'C'.repeat(500) }, 1],
    ['id padded with a tab and a line separator', strict, { ...good, id: '\tCHG0031234\u2028' }, 1],
    ['blank id when only required', { required: true }, { system: ' ', id: ' ' }, 1, 'with an id'],
    ['wrong state', strict, { ...good, state: 'assess' }, 1, 'move the change on first'],
    ['no state', strict, { system: 'servicenow', id: 'CHG0031234' }, 1, 'has no state'],
    ['everything wrong at once', strict, { system: 'jira', id: 'X-1', state: 'new' }, 3],
  ])('%s', (_name, tickets, ticket, failures, mentions) => {
    const policy = policyOf([{ ...baseRule, tickets }]);
    const result = evaluatePolicy(policy, inputOf({ request: { ticket } }));
    expect(result.allowed).toBe(failures === 0);
    const reasons = result.reasons.filter((reason) => reason.rule === 'r.tickets');
    expect(reasons).toHaveLength(failures);
    if (mentions) expect(reasons.map((reason) => reason.message).join(' ')).toContain(mentions);
  });

  it('anchors an unanchored pattern, so an alternation cannot match a fragment', () => {
    const policy = policyOf([{ ...baseRule, tickets: { required: true, idPattern: 'CHG\\d{7}|INC\\d{7}' } }]);
    const allowed = (id: string) =>
      evaluatePolicy(policy, inputOf({ request: { ticket: { ...good, id } } })).allowed;
    expect(allowed('CHG0031234')).toBe(true);
    expect(allowed('INC0031234')).toBe(true);
    expect(allowed('CHG0031234-and-more')).toBe(false);
    expect(allowed('prefix-INC0031234')).toBe(false);
  });

  it('keeps control characters out of reason messages', () => {
    const policy = policyOf([{ ...baseRule, tickets: strict }]);
    const result = evaluatePolicy(
      policy,
      inputOf({ request: { ticket: { ...good, id: 'X\r\nforged: log line' } } }),
    );
    expect(result.reasons[0]?.message).not.toMatch(/[\r\n]/);
  });

  it.each([
    [{ required: true, idPattern: '(' }, '/rules/0/tickets/idPattern'],
    [{ required: true, idPattern: 'a)|(b' }, '/rules/0/tickets/idPattern'],
    // Exponential backtracking on a crafted id ('1' x 26 + 'x' took half a second, doubling per character).
    [{ required: true, idPattern: '(\\d+)+' }, '/rules/0/tickets/idPattern'],
    // Polynomial: a 128-character near-match took 1.7 s with five open-ended repeats in a row.
    [{ required: true, idPattern: 'INC.*-.*-.*-.*-.*Z' }, '/rules/0/tickets/idPattern'],
    [{ required: true, idPattern: '(?:a?){30}a{30}' }, '/rules/0/tickets/idPattern'],
    // Ranges as wide as an id are as open: 8.4 s with five of them.
    [
      { required: true, idPattern: 'INC.{0,128}-.{0,128}-.{0,128}-.{0,128}-.{0,128}Z' },
      '/rules/0/tickets/idPattern',
    ],
    [{}, '/rules/0/tickets/required'],
    // Breadth is written down: whether a request without a ticket passes is not left to a default.
    [{ systems: ['servicenow'], idPattern: 'CHG\\d{7}', states: ['implement'] }, '/rules/0/tickets/required'],
    [{ required: true, states: [] }, '/rules/0/tickets/states'],
    [{ required: true, system: 'servicenow' }, '/rules/0/tickets/system'],
  ])('refuses tickets %j at load', (tickets, at) => {
    const problems = problemsOfPolicy({ version: 1, rules: [{ ...baseRule, tickets }] });
    expect(problems.map((problem) => problem.pointer)).toContain(at);
  });
});
