/**
 * Finds a repeated group whose own length varies, such as `(\d+)+`, `(?:a*b)*` or `(?:a?){30}`: the shape that
 * makes a backtracking engine (JavaScript's) take exponential time on a near-match, so a caller a rule lists
 * could stall an instance with one crafted ticket id. Returns the group's source, or undefined when there is
 * none. A check of the pattern's shape, not a proof: overlapping alternatives under one repeat (`(a|a)*`) are
 * not found.
 */
export function nestedRepeat(source: string): string | undefined {
  const groups: { start: number; varies: boolean }[] = [];
  let varies = false; // whether the innermost open group (or the top level) holds a quantifier so far
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === '(') {
      groups.push({ start: i, varies });
      varies = false;
      i += source[i + 1] === '?' ? 2 : 1;
    } else if (c === ')') {
      const group = groups.pop();
      const inner: boolean = varies;
      const after = repeatAt(source, i + 1);
      if (inner && after.repeats && group) return source.slice(group.start, after.end);
      varies = (group?.varies ?? false) || inner || after.varies;
      i = after.end;
    } else {
      const after = repeatAt(source, atomEnd(source, i));
      varies ||= after.varies;
      i = after.end;
    }
  }
  return undefined;
}

/** A range wider than this counts as open-ended: on ids of at most 128 characters `.{0,128}` is `.*`. */
const WIDE_RANGE = 16;

/** More open-ended repeats than this one after another make a crafted id slow (each multiplies the tries by n). */
export const MAX_OPEN_REPEATS = 2;

/**
 * The most open-ended repeats (`*`, `+`, `{n,}`, or a range up to more than 16) that one path through the
 * pattern meets, such as 5 in `INC.*-.*-.*-.*-.*Z`: each can give back characters to the next, so a near-match
 * of n characters takes about n^k tries. Alternatives count apart (`\d+|\w+` meets one). Narrow ranges
 * (`{1,5}`) are not counted.
 */
export function openRepeats(source: string): number {
  const groups: { before: number; best: number }[] = [];
  let count = 0;
  let best = 0;
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === '(') {
      groups.push({ before: count, best: 0 });
      i += source[i + 1] === '?' ? 2 : 1;
    } else if (c === '|') {
      const group = groups.at(-1);
      if (group) group.best = Math.max(group.best, count);
      else best = Math.max(best, count);
      count = group ? group.before : 0;
      i += 1;
    } else {
      const closing = c === ')';
      const group = closing ? groups.pop() : undefined;
      if (group) count = Math.max(group.best, count);
      const after = repeatAt(source, closing ? i + 1 : atomEnd(source, i));
      if (after.open) count += 1;
      i = after.end;
    }
  }
  return Math.max(best, count);
}

/** Past one atom: an escape (`\\d`), a character class, or a single character. */
function atomEnd(source: string, at: number): number {
  const c = source[at];
  return c === '\\' ? at + 2 : c === '[' ? classEnd(source, at) : at + 1;
}

/** The index just past the character class that opens at `start`. */
function classEnd(source: string, start: number): number {
  let i = start + 1;
  while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
  return i + 1;
}

interface Quantifier {
  /** Lets its atom repeat: `*`, `+`, `{n,}`, `{n,m}` with m > 1. */
  repeats: boolean;
  /** Lets its atom's length vary: `?`, `*`, `+`, `{n,m}` with m > n. */
  varies: boolean;
  /** Has no upper bound (`*`, `+`, `{n,}`), or one too far off to matter on an id (`{0,100}`). */
  open: boolean;
  end: number;
}

/** The quantifier at `at`, if any. */
function repeatAt(source: string, at: number): Quantifier {
  const c = source[at];
  if (c === '*' || c === '+')
    return { repeats: true, varies: true, open: true, end: lazyEnd(source, at + 1) };
  if (c === '?') return { repeats: false, varies: true, open: false, end: lazyEnd(source, at + 1) };
  if (c === '{') {
    const bound = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(at));
    if (bound) {
      const min = Number(bound[1]);
      const max = bound[2] === undefined ? min : bound[3] === '' ? Infinity : Number(bound[3]);
      const end = lazyEnd(source, at + bound[0].length);
      return { repeats: max > 1, varies: max > min, open: max > min && max > WIDE_RANGE, end };
    }
  }
  return { repeats: false, varies: false, open: false, end: at };
}

/** Past a lazy marker (`+?`, `*?`), which changes the order of tries, not their number. */
function lazyEnd(source: string, at: number): number {
  return source[at] === '?' ? at + 1 : at;
}
