import { describe, expect, it } from 'vitest';
import { cleanText, hasUnsafeCharacters, personKey, presentString, quote } from '../../../src/policy/text.js';

describe('policy text hygiene', () => {
  it.each([
    ['a\nb', 'a b'],
    ['  a  \t b ', 'a b'],
    ['a\u0085b', 'a b'],
    ['a\u2028b\u2029c', 'a b c'],
    ['\u202eevil\u202c', 'evil'],
    ['\ufeffbom', 'bom'],
    ['x\udc00', 'x\ufffd'],
    ['😀 ok', '😀 ok'],
  ])('cleanText(%j) = %j', (input, expected) => {
    expect(cleanText(input)).toBe(expected);
  });

  it('detects unsafe characters repeatedly (no regex state carried between calls)', () => {
    for (let i = 0; i < 3; i += 1) {
      expect(hasUnsafeCharacters('a\nb')).toBe(true);
      expect(hasUnsafeCharacters('plain')).toBe(false);
    }
  });

  it('quotes bounded and cleaned', () => {
    expect(quote('a\r\nb')).toBe('"a b"');
    expect(quote('x'.repeat(100), 10)).toBe(`"${'x'.repeat(9)}…"`);
  });

  it('presentString trims and refuses blanks and non-strings', () => {
    expect(presentString(' a ')).toBe('a');
    expect(presentString('  ')).toBeUndefined();
    expect(presentString(1)).toBeUndefined();
  });

  it('personKey folds case and compatibility forms', () => {
    expect(personKey(' Bob@Contoso.com ')).toBe(personKey('bob@contoso.com'));
    expect(personKey('ｂｏｂ')).toBe('bob');
    expect(personKey('STRASSE')).toBe(personKey('straße'));
    expect(personKey('\u01f0')).toBe(personKey('\u01f0'.toUpperCase()));
  });

  it.each([
    ['zero-width space', '\u200b'],
    ['soft hyphen', '\u00ad'],
    ['combining grapheme joiner', '\u034f'],
    ['Hangul filler', '\u3164'],
    ['Hangul choseong filler', '\u115f'],
    ['half-width Hangul filler', '\uffa0'],
    ['variation selector', '\ufe0f'],
    ['Mongolian variation selector', '\u180b'],
  ])('personKey removes a %s, which does not show', (_name, unseen) => {
    expect(personKey(`bo${unseen}b@contoso.com`)).toBe(personKey('bob@contoso.com'));
    expect(personKey(`bob@contoso.com${unseen}`)).toBe(personKey('bob@contoso.com'));
  });
});
