import { Refusal } from '../model/refusal.js';
import { decodeUtf8 } from './body.js';

/**
 * One strict JSON document from raw bytes: UTF-8 (invalid sequences refused, not replaced), syntax, nesting
 * depth, and no duplicate member names. JSON.parse keeps the last of two equal keys, so
 * `{"decision":"Rejected","decision":"Approved"}` would be read as an approval by us and possibly as a rejection
 * by whoever signed or logged it; such a body is refused, on every route.
 */

/** Our payloads are a few levels deep; anything deeper is not one of them (and bounds the scan's recursion). */
const MAX_DEPTH = 32;

export function parseJson(bytes: Uint8Array): unknown {
  const text = decodeUtf8(bytes);
  if (text === undefined) throw invalid('the body is not valid UTF-8');
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : 'it does not parse');
  }
  const problem = new DuplicateScan(text).problem();
  if (problem !== undefined) throw invalid(problem.message, problem.pointer);
  return value;
}

function invalid(message: string, pointer = ''): Refusal {
  return new Refusal('invalid-json', `The body must be one UTF-8 JSON object: ${message}.`, {
    errors: [{ pointer, message }],
    reason: 'json',
  });
}

const escapePointer = (token: string): string => token.replace(/~/g, '~0').replace(/\//g, '~1');

/** Walks text that JSON.parse already accepted, so only structure matters: no syntax errors can occur here. */
class DuplicateScan {
  #i = 0;
  constructor(readonly text: string) {}

  problem(): { pointer: string; message: string } | undefined {
    return this.#value('', 0);
  }

  #value(pointer: string, depth: number): { pointer: string; message: string } | undefined {
    if (depth > MAX_DEPTH) return { pointer, message: `it is nested more than ${MAX_DEPTH} levels deep` };
    this.#space();
    const c = this.text[this.#i];
    if (c === '{') return this.#object(pointer, depth);
    if (c === '[') return this.#array(pointer, depth);
    if (c === '"') this.#string();
    else while (this.#i < this.text.length && !',:}] \t\n\r'.includes(this.text[this.#i] ?? '')) this.#i++;
    return undefined;
  }

  #object(pointer: string, depth: number): { pointer: string; message: string } | undefined {
    this.#i++;
    const keys = new Set<string>();
    this.#space();
    if (this.text[this.#i] === '}') return void this.#i++;
    for (;;) {
      this.#space();
      const key = this.#string();
      const at = `${pointer}/${escapePointer(key)}`;
      if (keys.has(key)) return { pointer: at, message: `the member "${key.slice(0, 64)}" appears twice` };
      keys.add(key);
      this.#space();
      this.#i++; // ':'
      const inner = this.#value(at, depth + 1);
      if (inner) return inner;
      this.#space();
      if (this.text[this.#i++] !== ',') return undefined; // '}'
    }
  }

  #array(pointer: string, depth: number): { pointer: string; message: string } | undefined {
    this.#i++;
    this.#space();
    if (this.text[this.#i] === ']') return void this.#i++;
    for (let index = 0; ; index++) {
      const inner = this.#value(`${pointer}/${index}`, depth + 1);
      if (inner) return inner;
      this.#space();
      if (this.text[this.#i++] !== ',') return undefined; // ']'
    }
  }

  /** Reads a string literal and returns its value (escapes decoded, so `"\u0061"` and `"a"` are one key). */
  #string(): string {
    const start = this.#i++;
    while (this.text[this.#i] !== '"') this.#i += this.text[this.#i] === '\\' ? 2 : 1;
    this.#i++;
    return JSON.parse(this.text.slice(start, this.#i)) as string;
  }

  #space(): void {
    while (' \t\n\r'.includes(this.text[this.#i] ?? 'x')) this.#i++;
  }
}
