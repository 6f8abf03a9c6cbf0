/**
 * Just enough Bicep lexing for the consistency checks: find comments and string literals so that structure
 * (keywords, brackets, property names) can be searched in a copy where neither can fool a regex, while literal
 * values are still read from the original text at the same offsets. There is no Bicep CLI on the machines
 * that run `npm test`, so this stands in for `bicep build` as far as the checks need.
 */

export interface BicepLiteral {
  /** Offset of the opening quote. */
  start: number;
  /** Offset just past the closing quote. */
  end: number;
  /** Raw text between the quotes; interpolations (`${…}`) are kept verbatim. */
  value: string;
}

export interface LexedBicep {
  text: string;
  /** Same length as `text`: comments blanked to spaces, string contents (not interpolations) to `_`. */
  masked: string;
  /** Same length as `text`: comments blanked, strings intact. */
  commentless: string;
  literals: BicepLiteral[];
}

export interface BicepResource {
  symbol: string;
  /** e.g. `Microsoft.Web/sites@2024-04-01`. */
  type: string;
  existing: boolean;
  /** Offsets of the body's `{` and just past its `}`. */
  bodyStart: number;
  bodyEnd: number;
}

const blank = (s: string): string => s.replace(/[^\n]/g, ' ');
const fill = (s: string): string => s.replace(/[^\n]/g, '_');

/** Lexes Bicep; unterminated strings or comments run to the end of the text (the checks then fail loudly). */
export function lexBicep(text: string): LexedBicep {
  const literals: BicepLiteral[] = [];
  let masked = '';
  let commentless = '';

  // Reads a single-quoted string starting at `start` (the quote). Returns the offset past the closing quote;
  // appends to masked/commentless as it goes so nested interpolations keep their code visible.
  const readString = (start: number): number => {
    masked += "'";
    commentless += "'";
    let j = start + 1;
    while (j < text.length) {
      const c = text[j];
      if (c === '\\') {
        const pair = text.slice(j, j + 2);
        masked += fill(pair);
        commentless += pair;
        j += 2;
        continue;
      }
      if (c === "'") {
        masked += "'";
        commentless += "'";
        j += 1;
        break;
      }
      if (c === '$' && text[j + 1] === '{') {
        masked += '${';
        commentless += '${';
        j = readCode(j + 2, true);
        continue;
      }
      masked += fill(c ?? '');
      commentless += c;
      j += 1;
    }
    literals.push({ start, end: j, value: text.slice(start + 1, Math.max(start + 1, j - 1)) });
    return j;
  };

  // Reads code until the end of text, or (inside an interpolation) until the `}` that closes it.
  const readCode = (from: number, interpolation: boolean): number => {
    let depth = 0;
    let j = from;
    while (j < text.length) {
      const c = text[j];
      const next = text[j + 1];
      if (c === '/' && next === '/') {
        const end = text.indexOf('\n', j);
        const stop = end === -1 ? text.length : end;
        masked += blank(text.slice(j, stop));
        commentless += blank(text.slice(j, stop));
        j = stop;
        continue;
      }
      if (c === '/' && next === '*') {
        const end = text.indexOf('*/', j + 2);
        const stop = end === -1 ? text.length : end + 2;
        masked += blank(text.slice(j, stop));
        commentless += blank(text.slice(j, stop));
        j = stop;
        continue;
      }
      if (text.startsWith("'''", j)) {
        const end = text.indexOf("'''", j + 3);
        const stop = end === -1 ? text.length : end + 3;
        const body = text.slice(j + 3, Math.max(j + 3, stop - 3));
        masked += "'''" + fill(body) + (end === -1 ? '' : "'''");
        commentless += text.slice(j, stop);
        literals.push({ start: j, end: stop, value: body });
        j = stop;
        continue;
      }
      if (c === "'") {
        j = readString(j);
        continue;
      }
      if (interpolation && c === '{') depth += 1;
      if (interpolation && c === '}') {
        if (depth === 0) {
          masked += '}';
          commentless += '}';
          return j + 1;
        }
        depth -= 1;
      }
      masked += c;
      commentless += c;
      j += 1;
    }
    return j;
  };

  readCode(0, false);
  return { text, masked, commentless, literals };
}

/** The literal whose opening quote is at `offset`, if any. */
export function literalAt(lexed: LexedBicep, offset: number): BicepLiteral | undefined {
  return lexed.literals.find((literal) => literal.start === offset);
}

/** Literals that lie entirely inside [from, to). */
export function literalsIn(lexed: LexedBicep, from: number, to: number): BicepLiteral[] {
  return lexed.literals.filter((literal) => literal.start >= from && literal.end <= to);
}

const OPENERS: Record<string, string> = { '[': ']', '{': '}', '(': ')' };

/** Offset just past the bracket matching the one at `open`, searched in the masked text. */
export function matchingBracket(masked: string, open: number): number {
  const first = masked[open];
  if (first === undefined || !(first in OPENERS)) throw new Error(`no bracket at offset ${open}`);
  const stack: string[] = [];
  for (let j = open; j < masked.length; j += 1) {
    const c = masked[j] ?? '';
    const closer = OPENERS[c];
    if (closer !== undefined) stack.push(closer);
    else if (c === ']' || c === '}' || c === ')') {
      if (stack.pop() !== c) throw new Error(`unbalanced '${c}' at offset ${j}`);
      if (stack.length === 0) return j + 1;
    }
  }
  throw new Error(`bracket at offset ${open} is never closed`);
}

/** Every `resource` declaration with its type string and body range. */
export function resourcesOf(lexed: LexedBicep): BicepResource[] {
  const out: BicepResource[] = [];
  const declaration = /(^|\n)\s*resource\s+(\w+)\s+'/g;
  for (const match of lexed.masked.matchAll(declaration)) {
    const quote = (match.index ?? 0) + match[0].length - 1;
    const literal = literalAt(lexed, quote);
    if (literal === undefined) continue;
    const after = lexed.masked.slice(literal.end);
    const head = /^\s*(existing\s*)?=/.exec(after);
    if (head === null) continue;
    const bodyStart = lexed.masked.indexOf('{', literal.end + head[0].length);
    if (bodyStart === -1) continue;
    out.push({
      symbol: match[2] ?? '',
      type: literal.value,
      existing: head[1] !== undefined,
      bodyStart,
      bodyEnd: matchingBracket(lexed.masked, bodyStart),
    });
  }
  return out;
}

export interface BicepModule {
  symbol: string;
  /** The module's file as written, e.g. `modules/assign-subscription.bicep`. */
  path: string;
  /** Masked text between `=` and the body: `[ for (x, i) in list:`, `if (cond)`, or blank. */
  head: string;
  /** Offsets of the body's `{` and just past its `}`. */
  bodyStart: number;
  bodyEnd: number;
}

/** Every `module` declaration: where its file is, how it repeats or is conditioned, and its body range. */
export function modulesOf(lexed: LexedBicep): BicepModule[] {
  const out: BicepModule[] = [];
  for (const match of lexed.masked.matchAll(/(^|\n)\s*module\s+(\w+)\s+'/g)) {
    const quote = (match.index ?? 0) + match[0].length - 1;
    const literal = literalAt(lexed, quote);
    if (literal === undefined) continue;
    const equals = /^\s*=/.exec(lexed.masked.slice(literal.end));
    if (equals === null) continue;
    const headStart = literal.end + equals[0].length;
    const bodyStart = lexed.masked.indexOf('{', headStart);
    if (bodyStart === -1) continue;
    out.push({
      symbol: match[2] ?? '',
      path: literal.value,
      head: lexed.masked.slice(headStart, bodyStart).trim(),
      bodyStart,
      bodyEnd: matchingBracket(lexed.masked, bodyStart),
    });
  }
  return out;
}

/**
 * The expression of `var name = …` (masked; offsets as in the text), which runs until the next line that starts
 * in column 0 with anything but a closing bracket — how the templates lay out multi-line expressions.
 */
export function varExpression(
  lexed: LexedBicep,
  name: string,
): { start: number; masked: string } | undefined {
  const declaration = new RegExp(`(^|\\n)var\\s+${name}\\s*=\\s*`).exec(lexed.masked);
  if (declaration === null) return undefined;
  const start = declaration.index + declaration[0].length;
  const next = /\n(?=[^\s)\]}])/g;
  next.lastIndex = start;
  const stop = next.exec(lexed.masked);
  return { start, masked: lexed.masked.slice(start, stop === null ? undefined : stop.index) };
}

/** 1-based line of an offset, for messages. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let j = 0; j < offset && j < text.length; j += 1) if (text[j] === '\n') line += 1;
  return line;
}
