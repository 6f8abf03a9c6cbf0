import { INVISIBLE, INVISIBLE_ALL } from '../model/visible-text.js';

/** Every UTF-16 unit outside printable ASCII (C0 controls are escaped by JSON.stringify already). */
const NOT_ASCII = /[\u007f-\uffff]/;
const NOT_ASCII_ALL = new RegExp(NOT_ASCII.source, 'g');

/** One UTF-16 unit as a JSON escape: `\u202e`. */
const unitEscape = (unit: number): string => `\\u${unit.toString(16).padStart(4, '0')}`;

const escapeUnits = (chars: string): string => {
  let out = '';
  for (let i = 0; i < chars.length; i++) out += unitEscape(chars.charCodeAt(i));
  return out;
};

/**
 * JSON text of an answer, with every invisible character (controls, bidi overrides, zero-width and line
 * separators; see visible-text.ts) written as a `\uXXXX` escape. A parser reads back exactly the value sent, so a
 * pointer at a member whose name holds one still resolves, yet the text shown in a terminal, a log viewer or a
 * browser cannot be reordered or hidden by it. Compact JSON holds no whitespace outside its strings, and inside
 * them an escape stands for the same character, so the rewrite cannot change what the text means.
 *
 * `ascii` escapes everything beyond ASCII as well, for a media type that names no charset
 * (`application/problem+json`): some HTTP clients (Java's among them, which ServiceNow's outbound REST runs on)
 * read a body of a type they do not know as ISO-8859-1, which would garble a "—" in a detail or a work note.
 */
export function answerJson(value: unknown, { ascii = false }: { ascii?: boolean } = {}): string {
  const text = JSON.stringify(value);
  if (ascii) return NOT_ASCII.test(text) ? text.replace(NOT_ASCII_ALL, escapeUnits) : text;
  return INVISIBLE.test(text) ? text.replace(INVISIBLE_ALL, escapeUnits) : text;
}
