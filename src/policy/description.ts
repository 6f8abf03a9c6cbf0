import type { PolicyProblem } from './policy-error.js';
import { cleanText, hasUnsafeCharacters } from './text.js';

/**
 * The description written to ARM next to the connection. Template syntax, kept small enough to review:
 *   {field}       a value (see FIELDS); missing values render as nothing
 *   [ ... ]       an optional part, dropped when any field inside it has no value
 *   {{ }} [[ ]]   literal braces and brackets
 * Values are cleaned of control characters, and the result is capped at `maxLength` UTF-16 code units
 * (JavaScript string length), cut at a grapheme boundary and marked with "…" when shortened.
 */

export const FIELDS = [
  'decision',
  'approver',
  'requester',
  'source',
  'ticket.id',
  'ticket.system',
  'description',
  'rule',
] as const;

export type DescriptionField = (typeof FIELDS)[number];
export type DescriptionValues = Partial<Record<DescriptionField, unknown>>;

type Piece = { kind: 'text'; text: string } | { kind: 'field'; name: DescriptionField };
type Part = Piece | { kind: 'optional'; pieces: Piece[] };

export interface CompiledDescription {
  readonly template: string;
  readonly maxLength: number;
  readonly parts: readonly Part[];
  readonly segmenter: Intl.Segmenter;
}

/**
 * Without a template in the policy, the caller's own description is written as given (capped), and nothing
 * when it gave none: the PUT is then exactly the API's documented body.
 */
export const DEFAULT_TEMPLATE = '[{description}]';
/** Without a template the request's own description passes through; its schema already caps it at 1024. */
export const DEFAULT_MAX_LENGTH = 1024;
const ELLIPSIS = '…';

const isField = (name: string): name is DescriptionField => (FIELDS as readonly string[]).includes(name);

export function compileDescription(
  template: string,
  maxLength: number,
  at: string,
  problems: PolicyProblem[],
): CompiledDescription {
  const parts: Part[] = [];
  let group: Piece[] | undefined;
  let text = '';
  const fail = (message: string): void => {
    problems.push({ pointer: `${at}/template`, message });
  };
  const flush = (): void => {
    if (text === '') return;
    (group ?? parts).push({ kind: 'text', text });
    text = '';
  };
  if (hasUnsafeCharacters(template)) fail('must not contain control or bidirectional-override characters');
  let i = 0;
  while (i < template.length) {
    const c = template[i] ?? '';
    const next = template[i + 1];
    if ((c === '{' || c === '}' || c === '[' || c === ']') && next === c) {
      text += c;
      i += 2;
    } else if (c === '{') {
      const close = template.indexOf('}', i);
      const name = close < 0 ? '' : template.slice(i + 1, close);
      if (close < 0) {
        fail(`"{" at position ${i} is never closed; write "{{" for a literal brace`);
        break;
      }
      if (!isField(name)) {
        fail(`unknown placeholder {${name}}; use one of ${FIELDS.map((f) => `{${f}}`).join(', ')}`);
      } else {
        flush();
        (group ?? parts).push({ kind: 'field', name });
      }
      i = close + 1;
    } else if (c === '}') {
      fail(`"}" at position ${i} has no opening "{"; write "}}" for a literal brace`);
      i += 1;
    } else if (c === '[') {
      if (group !== undefined) fail(`optional parts cannot nest ("[" at position ${i})`);
      flush();
      group = [];
      i += 1;
    } else if (c === ']') {
      if (group === undefined) {
        fail(`"]" at position ${i} has no opening "["; write "]]" for a literal bracket`);
      } else {
        flush();
        if (!group.some((piece) => piece.kind === 'field')) {
          fail(`optional part ending at position ${i} has no placeholder, so it would always show`);
        }
        parts.push({ kind: 'optional', pieces: group });
        group = undefined;
      }
      i += 1;
    } else {
      text += c;
      i += 1;
    }
  }
  if (group !== undefined) fail('an optional part "[" is never closed with "]"');
  flush();
  return {
    template,
    maxLength,
    parts,
    segmenter: new Intl.Segmenter('en', { granularity: 'grapheme' }),
  };
}

function valueOf(values: DescriptionValues, name: DescriptionField): string | undefined {
  const raw = values[name];
  if (typeof raw !== 'string') return undefined;
  const cleaned = cleanText(raw);
  return cleaned === '' ? undefined : cleaned;
}

const renderPiece = (piece: Piece, values: DescriptionValues): string =>
  piece.kind === 'text' ? piece.text : (valueOf(values, piece.name) ?? '');

export function renderDescription(compiled: CompiledDescription, values: DescriptionValues): string {
  let out = '';
  for (const part of compiled.parts) {
    if (part.kind !== 'optional') {
      out += renderPiece(part, values);
    } else if (
      part.pieces.every((piece) => piece.kind === 'text' || valueOf(values, piece.name) !== undefined)
    ) {
      out += part.pieces.map((piece) => renderPiece(piece, values)).join('');
    }
  }
  return truncate(cleanText(out), compiled.maxLength, compiled.segmenter);
}

/** Cuts at a grapheme boundary so no emoji, combining mark or surrogate pair is split. */
export function truncate(text: string, maxLength: number, segmenter: Intl.Segmenter): string {
  if (text.length <= maxLength) return text;
  const budget = maxLength - ELLIPSIS.length;
  let kept = '';
  for (const { segment } of segmenter.segment(text)) {
    if (kept.length + segment.length > budget) break;
    kept += segment;
  }
  return `${kept.trimEnd()}${ELLIPSIS}`;
}
