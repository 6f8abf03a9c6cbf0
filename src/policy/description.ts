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
  // The connection's description before this decision: on a Pending one, the consumer's request message, which
  // the provider keeps nowhere once a decision's description replaces it. A template appends it to keep it.
  'connection.description',
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
  const fail = (message: string): void => {
    problems.push({ pointer: `${at}/template`, message });
  };
  if (hasUnsafeCharacters(template)) fail('must not contain control or bidirectional-override characters');
  const parts = new TemplateParser(template, fail).parse();
  return { template, maxLength, parts };
}

/** Reads a template left to right, one token at a time; every mistake is reported, none stops the others. */
class TemplateParser {
  readonly #parts: Part[] = [];
  #group: Piece[] | undefined;
  #text = '';
  #i = 0;

  constructor(
    readonly template: string,
    readonly fail: (message: string) => void,
  ) {}

  parse(): Part[] {
    while (this.#i < this.template.length) {
      const c = this.template[this.#i] ?? '';
      if ('{}[]'.includes(c) && this.template[this.#i + 1] === c) this.#literal(c);
      else if (c === '{') {
        if (!this.#field()) break;
      } else if (c === '}') this.#strayClose();
      else if (c === '[') this.#openOptional();
      else if (c === ']') this.#closeOptional();
      else this.#literal(c, 1);
    }
    if (this.#group !== undefined) this.fail('an optional part "[" is never closed with "]"');
    this.#flush();
    return this.#parts;
  }

  /** A doubled brace or bracket stands for itself; any other character is text. */
  #literal(c: string, width = 2): void {
    this.#text += c;
    this.#i += width;
  }

  #field(): boolean {
    const close = this.template.indexOf('}', this.#i);
    if (close < 0) {
      this.fail(`"{" at position ${this.#i} is never closed; write "{{" for a literal brace`);
      return false;
    }
    const name = this.template.slice(this.#i + 1, close);
    if (!isField(name)) {
      this.fail(`unknown placeholder {${name}}; use one of ${FIELDS.map((f) => `{${f}}`).join(', ')}`);
    } else {
      this.#flush();
      (this.#group ?? this.#parts).push({ kind: 'field', name });
    }
    this.#i = close + 1;
    return true;
  }

  #strayClose(): void {
    this.fail(`"}" at position ${this.#i} has no opening "{"; write "}}" for a literal brace`);
    this.#i += 1;
  }

  #openOptional(): void {
    if (this.#group !== undefined) this.fail(`optional parts cannot nest ("[" at position ${this.#i})`);
    this.#flush();
    this.#group = [];
    this.#i += 1;
  }

  #closeOptional(): void {
    if (this.#group === undefined) {
      this.fail(`"]" at position ${this.#i} has no opening "["; write "]]" for a literal bracket`);
    } else {
      this.#flush();
      if (!this.#group.some((piece) => piece.kind === 'field')) {
        this.fail(`optional part ending at position ${this.#i} has no placeholder, so it would always show`);
      }
      this.#parts.push({ kind: 'optional', pieces: this.#group });
      this.#group = undefined;
    }
    this.#i += 1;
  }

  #flush(): void {
    if (this.#text === '') return;
    (this.#group ?? this.#parts).push({ kind: 'text', text: this.#text });
    this.#text = '';
  }
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
  return truncate(cleanText(out), compiled.maxLength);
}

// Made on first use, not when the policy is compiled: the process's first Intl.Segmenter loads ICU's break data
// (~10 ms of a cold start, measured), and only a description longer than its cap is ever segmented.
let graphemeSegmenter: Intl.Segmenter | undefined;

/** Cuts at a grapheme boundary so no emoji, combining mark or surrogate pair is split. */
export function truncate(text: string, maxLength: number, segmenter?: Intl.Segmenter): string {
  if (text.length <= maxLength) return text;
  const graphemes =
    segmenter ?? (graphemeSegmenter ??= new Intl.Segmenter('en', { granularity: 'grapheme' }));
  const budget = maxLength - ELLIPSIS.length;
  let kept = '';
  for (const { segment } of graphemes.segment(text)) {
    if (kept.length + segment.length > budget) break;
    kept += segment;
  }
  return `${kept.trimEnd()}${ELLIPSIS}`;
}
