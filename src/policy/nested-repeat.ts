/**
 * Finds a repeated group that itself holds a repeat, such as `(\d+)+` or `(?:a*b)*`: the shape that makes a
 * backtracking engine (JavaScript's) take exponential time on a near-match, so a caller a rule lists could stall
 * an instance with one crafted ticket id. Returns the group's source, or undefined when there is none. A check of
 * the pattern's shape, not a proof: overlapping alternatives under one repeat (`(a|a)*`) are not found.
 */
export function nestedRepeat(source: string): string | undefined {
  const groups: { start: number; repeats: boolean }[] = [];
  let repeats = false; // whether the innermost open group (or the top level) holds a repeat so far
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === '(') {
      groups.push({ start: i, repeats });
      repeats = false;
      i += source[i + 1] === '?' ? 2 : 1;
    } else if (c === ')') {
      const group = groups.pop();
      const inner: boolean = repeats;
      const after = repeatAt(source, i + 1);
      if (inner && after.repeats && group) return source.slice(group.start, after.end);
      repeats = (group?.repeats ?? false) || inner || after.repeats;
      i = after.end;
    } else {
      // One atom: an escape (`\\d`), a character class, or a single character; then its quantifier, if any.
      const atomEnd = c === '\\' ? i + 2 : c === '[' ? classEnd(source, i) : i + 1;
      const after = repeatAt(source, atomEnd);
      repeats ||= after.repeats;
      i = after.end;
    }
  }
  return undefined;
}

/** The index just past the character class that opens at `start`. */
function classEnd(source: string, start: number): number {
  let i = start + 1;
  while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** The quantifier at `at`, if any: whether it lets its atom repeat (`*`, `+`, `{n,}`, `{n,m}` with m > 1). */
function repeatAt(source: string, at: number): { repeats: boolean; end: number } {
  const c = source[at];
  if (c === '*' || c === '+') return { repeats: true, end: lazyEnd(source, at + 1) };
  if (c === '?') return { repeats: false, end: lazyEnd(source, at + 1) };
  if (c === '{') {
    const bound = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(at));
    if (bound) {
      const max = bound[2] === undefined ? Number(bound[1]) : bound[3] === '' ? Infinity : Number(bound[3]);
      return { repeats: max > 1, end: lazyEnd(source, at + bound[0].length) };
    }
  }
  return { repeats: false, end: at };
}

/** Past a lazy marker (`+?`, `*?`), which changes the order of tries, not their number. */
function lazyEnd(source: string, at: number): number {
  return source[at] === '?' ? at + 1 : at;
}
