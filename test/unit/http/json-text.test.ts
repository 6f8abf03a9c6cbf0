import { describe, expect, it } from 'vitest';
import { answerJson } from '../../../src/http/json-text.js';

describe('answerJson', () => {
  it('is JSON.stringify when nothing in it is invisible', () => {
    const value = { a: 'plain — text ✓', b: [1, 'two'] };
    expect(answerJson(value)).toBe(JSON.stringify(value));
  });

  it('writes every invisible character as an escape a parser reads back exactly', () => {
    const value = { s: 'a\u202eb\u2028c\u200bd\u0085e\u{e0001}f' };
    const text = answerJson(value);
    expect(text).toBe('{"s":"a\\u202eb\\u2028c\\u200bd\\u0085e\\udb40\\udc01f"}');
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('answerJson for a media type without a charset', () => {
  it('is plain ASCII, whatever the text, and reads back exactly', () => {
    const value = { detail: 'Pending → Approved — ok ✓ ü \u202e \u{1f600}', n: 1 };
    const text = answerJson(value, { ascii: true });
    expect(text).toMatch(/^[\x20-\x7e]*$/);
    expect(text).toContain('Pending \\u2192 Approved \\u2014 ok');
    expect(JSON.parse(text)).toEqual(value);
  });
});
