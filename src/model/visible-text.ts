/**
 * Characters that change how text looks without being seen: C0/C1 controls, format characters (bidi
 * overrides and isolates, zero-width spaces and joiners, the BOM) and line/paragraph separators. Caller text that
 * holds them can make an id or a reason read as something else in a portal, a log viewer or a chat client
 * (`evil\u202e1noitcennoc` displays as "evilconnection1").
 */
export const INVISIBLE = /[\p{Cc}\p{Cf}\u2028\u2029]/u;
/** The same, for replacing every one. */
export const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'gu');

/** Slashes that look like `/` but are not one: an id holding them would not mean what it shows. */
const CONFUSABLE_SLASH = /[\u2044\u2215\u29f8\uff0f\u2571\u27cb\u29f5\u3033\u2cc6]/u;

/** The first character of `text` that must not appear in an identifier, or undefined. */
export function hiddenCharacterIn(text: string): string | undefined {
  return INVISIBLE.exec(text)?.[0] ?? CONFUSABLE_SLASH.exec(text)?.[0];
}

/** `\u{202E}`-style escape of one character, for messages that must name it without showing it. */
export function escapeCharacter(char: string): string {
  return `\\u{${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}}`;
}

/**
 * Caller text made safe to echo (problem details, chat replies, logs, audit fields): invisible characters are
 * replaced by their escapes, so what a reader sees is what was sent.
 */
export function visible(text: string): string {
  return INVISIBLE.test(text) ? text.replace(INVISIBLE_ALL, escapeCharacter) : text;
}

/** As `visible`, keeping line breaks: for multi-line chat replies that quote caller text. */
export function visibleLines(text: string): string {
  return text.split('\n').map(visible).join('\n');
}
