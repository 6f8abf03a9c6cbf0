import { describe, expect, it } from 'vitest';
import type { DescriptionValues } from '../../../src/policy/description.js';
import { compileDescription, renderDescription, truncate } from '../../../src/policy/description.js';
import type { PolicyProblem } from '../../../src/policy/policy-error.js';

const compile = (template: string, maxLength = 140) => {
  const problems: PolicyProblem[] = [];
  const compiled = compileDescription(template, maxLength, '/defaults/connectionDescription', problems);
  return { compiled, problems };
};
const render = (template: string, values: DescriptionValues, maxLength = 140): string => {
  const { compiled, problems } = compile(template, maxLength);
  expect(problems).toEqual([]);
  return renderDescription(compiled, values);
};
const DEFAULT = '{decision}[ by {approver}][ ({ticket.id})] via {source}[: {description}]';
const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

describe('connection description template', () => {
  it.each<[string, DescriptionValues, string]>([
    [
      'every field present',
      {
        decision: 'Approved',
        approver: 'bob',
        'ticket.id': 'CHG0031234',
        source: 'servicenow',
        description: 'ok',
      },
      'Approved by bob (CHG0031234) via servicenow: ok',
    ],
    ['optional parts dropped when empty', { decision: 'Rejected', source: 'slack' }, 'Rejected via slack'],
    [
      'blank counts as missing',
      { decision: 'Rejected', approver: '  ', source: 'teams' },
      'Rejected via teams',
    ],
    [
      'non-strings count as missing',
      { decision: 'Rejected', approver: 42, source: 'teams' },
      'Rejected via teams',
    ],
    [
      'control characters become spaces and runs collapse',
      { decision: 'Approved', source: 'generic', description: 'line1\r\n\tline2\u0000\u0007end' },
      'Approved via generic: line1 line2 end',
    ],
    [
      'bidi overrides are removed',
      { decision: 'Approved', source: 'generic', description: 'abc\u202edef\u2066' },
      'Approved via generic: abc def',
    ],
    [
      'lone surrogates are replaced',
      { decision: 'Approved', source: 'generic', description: 'x\ud800y' },
      'Approved via generic: x\ufffdy',
    ],
  ])('%s', (_name, values, expected) => {
    expect(render(DEFAULT, values)).toBe(expected);
  });

  it('supports literal braces and brackets', () => {
    expect(render('{{{decision}}} [[{source}]]', { decision: 'Approved', source: 'slack' })).toBe(
      '{Approved} [slack]',
    );
  });

  it('renders every field', () => {
    const template =
      '{decision}|{approver}|{requester}|{source}|{ticket.id}|{ticket.system}|{description}|{rule}';
    const values: DescriptionValues = {
      decision: 'Approved',
      approver: 'a',
      requester: 'r',
      source: 's',
      'ticket.id': 'i',
      'ticket.system': 'y',
      description: 'd',
      rule: 'u',
    };
    expect(render(template, values)).toBe('Approved|a|r|s|i|y|d|u');
  });

  it('caps the length and marks the cut', () => {
    const out = render('{description}', { description: 'a'.repeat(500) }, 20);
    expect(out).toHaveLength(20);
    expect(out.endsWith('…')).toBe(true);
  });

  it('never splits a surrogate pair or an emoji sequence', () => {
    const family = '👨‍👩‍👧‍👦';
    const out = truncate(`${'x'.repeat(15)}${family}${family}`, 20, segmenter);
    expect(out).toBe(`${'x'.repeat(15)}…`);
    expect(out.length).toBeLessThanOrEqual(20);
    const flags = truncate('🇳🇱🇳🇱🇳🇱🇳🇱🇳🇱🇳🇱', 10, segmenter);
    expect(flags).toBe('🇳🇱🇳🇱…');
  });

  it('leaves text at exactly the limit alone', () => {
    expect(truncate('abcde', 5, segmenter)).toBe('abcde');
    expect(truncate('abcdef', 5, segmenter)).toBe('abcd…');
  });

  it.each([
    ['{decison}', 'unknown placeholder {decison}'],
    ['{decision', 'never closed'],
    ['decision}', 'has no opening "{"'],
    ['[by approver]', 'has no placeholder'],
    ['[ by {approver}', 'never closed with "]"'],
    ['by {approver}]', 'has no opening "["'],
    ['[a [b {approver}]]', 'cannot nest'],
    ['{decision}\n{source}', 'control'],
  ])('refuses template %j', (template, message) => {
    const { problems } = compile(template);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.map((problem) => problem.message).join(' ')).toContain(message);
    expect(problems[0]?.pointer).toBe('/defaults/connectionDescription/template');
  });
});
