import { describe, expect, it } from 'vitest';
import { nestedRepeat } from '../../../src/policy/nested-repeat.js';

describe('nestedRepeat', () => {
  it.each([
    ['(\\d+)+', '(\\d+)+'],
    ['(a*)*', '(a*)*'],
    ['CHG(?:\\d{2,}-)+', '(?:\\d{2,}-)+'],
    ['((ab)+x)*', '((ab)+x)*'],
    ['([a-z]+\\.)*end', '([a-z]+\\.)*'],
    ['(x+){2,}', '(x+){2,}'],
    ['(x+)+?', '(x+)+?'],
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
