/** One thing wrong with a policy document, located by JSON pointer (and by line/column when known). */
export interface PolicyProblem {
  pointer: string;
  message: string;
  line?: number;
  column?: number;
}

/** Thrown by `parsePolicy` / `loadPolicy` when a document cannot be used; lists every problem found. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    readonly file: string,
    readonly problems: PolicyProblem[],
  ) {
    super(`Invalid policy ${file}: ${problems.map(formatProblem).join('; ')}`);
  }
}

export function formatProblem(problem: PolicyProblem): string {
  const where = problem.line === undefined ? '' : `line ${problem.line}:${problem.column ?? 1} `;
  return `${where}${problem.pointer === '' ? '(document)' : problem.pointer}: ${problem.message}`;
}

/** Appends segments to a JSON pointer, escaping `~` and `/` as RFC 6901 requires. */
export function pointer(base: string, ...segments: (string | number)[]): string {
  return segments.reduce<string>(
    (acc, segment) => `${acc}/${String(segment).replace(/~/g, '~0').replace(/\//g, '~1')}`,
    base,
  );
}
