import { INVISIBLE } from '../model/visible-text.js';

const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'gu');

/** One UTF-16 unit as a JSON escape: `\u202e`. */
const unitEscape = (unit: number): string => `\\u${unit.toString(16).padStart(4, '0')}`;

/**
 * JSON text of an answer, with every invisible character (controls, bidi overrides, zero-width and line
 * separators; see visible-text.ts) written as a `\uXXXX` escape. A parser reads back exactly the value sent, so a
 * pointer at a member whose name holds one still resolves, yet the text shown in a terminal, a log viewer or a
 * browser cannot be reordered or hidden by it. Compact JSON holds no whitespace outside its strings, and inside
 * them an escape stands for the same character, so the rewrite cannot change what the text means.
 */
export function answerJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (!INVISIBLE.test(text)) return text;
  return text.replace(INVISIBLE_ALL, (char) => {
    let out = '';
    for (let i = 0; i < char.length; i++) out += unitEscape(char.charCodeAt(i));
    return out;
  });
}
