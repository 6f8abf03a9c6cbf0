import { describe, expect, it } from 'vitest';
import { compileGlob } from '../../../src/policy/glob.js';

describe('compileGlob', () => {
  it.each<[string, string | undefined, boolean]>([
    ['rg1', 'rg1', true],
    ['rg1', 'RG1', true],
    ['RG1', 'rg1', true],
    ['rg1', 'rg10', false],
    ['rg1', undefined, false],
    ['*', '', true],
    ['*', 'anything', true],
    ['rg-*', 'rg-', true],
    ['rg-*', 'rg-prod', true],
    ['rg-*', 'xrg-prod', false],
    ['*-prod', 'rg-prod', true],
    ['*-prod', 'rg-prod-2', false],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXcYYb', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['a?c', 'a😀c', true],
    ['*@contoso.com', 'bob@contoso.com', true],
    ['*@contoso.com', 'bob@contoso.com.evil', false],
    ['rg.(a)', 'rg.(a)', true],
    ['rg.(a)', 'rgX(a)', false],
  ])('%j matches %j: %s', (pattern, value, expected) => {
    expect(compileGlob(pattern).test(value)).toBe(expected);
  });

  it('stays fast on patterns that would backtrack badly as regular expressions', () => {
    const matcher = compileGlob(`${'*a'.repeat(20)}*b`);
    // Completes (a naive backtracking matcher would not, in any reasonable time); no timing assertion.
    expect(matcher.test('a'.repeat(2000))).toBe(false);
  });
});
