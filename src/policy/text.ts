/**
 * Text hygiene for values that come from callers and end up in ARM, logs or reason messages: control
 * characters (which could forge log lines or hide text), bidirectional overrides (which can make the portal
 * show something other than what was written) and unpaired surrogates (which some serialisers reject).
 */

import { INVISIBLE } from '../model/visible-text.js';

// Controls, format characters (bidi marks, zero-widths, BOM) and line/paragraph separators.
const UNSAFE = INVISIBLE;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// replaceAll needs global copies; `test` is only ever called on the non-global ones (no lastIndex state).
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'gu');
const LONE_SURROGATE_ALL = new RegExp(LONE_SURROGATE.source, 'g');

/** Unsafe characters become spaces, whitespace runs collapse to one space, ends are trimmed. */
export function cleanText(value: string): string {
  return value
    .replaceAll(LONE_SURROGATE_ALL, '\ufffd')
    .replaceAll(UNSAFE_ALL, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export const hasUnsafeCharacters = (value: string): boolean =>
  UNSAFE.test(value) || LONE_SURROGATE.test(value);

/** The trimmed string when non-empty, else undefined (evaluation must not trust input types). */
export function presentString(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** For quoting caller-supplied values inside reason messages: cleaned, bounded, JSON-quoted. */
export function quote(value: string, max = 80): string {
  const cleaned = cleanText(value);
  const chars = [...cleaned];
  return JSON.stringify(chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : cleaned);
}

/**
 * Characters that do not show: a zero-width space, a soft hyphen, a combining grapheme joiner, a variation
 * selector or a Hangul filler inside a name leaves it looking the same (Unicode's default-ignorable code points,
 * with controls and format characters).
 */
const UNSEEN = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\u2028\u2029]/gu;

/**
 * Key for "is this the same person" checks (separation of duties): Unicode compatibility folding, characters that
 * do not show removed, and case folded (upper then lower, so `ß` and `SS` meet), so spellings that look alike
 * (full-width letters, a zero-width space, different case) count as the same person. Folding only ever makes that
 * check stricter; allow-lists compare without folding.
 */
export function personKey(value: string): string {
  const folded = value.normalize('NFKC').replace(UNSEEN, '').toUpperCase().toLowerCase();
  // Case mapping can leave decomposed letters (`ǰ` comes back as `j` and a combining caron): composed again.
  return folded.normalize('NFKC').trim();
}
