import { describe, expect, it } from 'vitest';
import { nestedRepeat, openRepeats } from '../../../src/policy/nested-repeat.js';

describe('nestedRepeat', () => {
  it.each([
    ['(\\d+)+', '(\\d+)+'],
    ['(a*)*', '(a*)*'],
    ['CHG(?:\\d{2,}-)+', '(?:\\d{2,}-)+'],
    ['((ab)+x)*', '((ab)+x)*'],
    ['([a-z]+\\.)*end', '([a-z]+\\.)*'],
    ['(x+){2,}', '(x+){2,}'],
    ['(x+)+?', '(x+)+?'],
    ['(?:a?){30}a{30}', '(?:a?){30}'],
    ['(\\d{1,3},)+', '(\\d{1,3},)+'],
  ])('finds the repeated group holding a repeat in %s', (source, group) => {
    expect(nestedRepeat(source)).toBe(group);
  });

  it.each([
    '^CHG\\d{7}$',
    'CHG\\d{7}|INC\\d{7}',
    '(CHG|INC)\\d+',
    '(\\d+)?',
    '(\\d+){1}',
    '(?:ab)+',
    '[(+)]+',
    '\\(\\d+\\)+',
    '(?<year>\\d{4})-(?<n>\\d+)',
    '(a)(b+)(c)',
  ])('finds none in %s', (source) => {
    expect(nestedRepeat(source)).toBeUndefined();
  });
});

describe('openRepeats', () => {
  it.each([
    ['INC.*-.*-.*-.*-.*Z', 5],
    ['\\d*\\d*\\d*\\d*\\d*X', 5],
    ['^CHG\\d{7}$', 0],
    ['[A-Z][A-Z0-9]+-\\d+', 2],
    ['(INC\\d+|CHG\\d+|RITM\\d+)', 1],
    ['INC\\d+(-\\d+)?', 2],
    ['a{2,}b*', 2],
    ['[*+]+x{1,5}', 1],
    ['\\d+|\\w+', 1],
    ['(a+(b+|c)d+)e+', 4],
    ['INC.{0,128}-.{0,128}-.{0,128}Z', 3],
    ['[A-Z]{2,10}-\\d{1,16}', 0],
    ['.{100}x{17,}', 1],
  ])('counts the open-ended repeats on the longest path of %s: %i', (source, count) => {
    expect(openRepeats(source)).toBe(count);
  });
});
