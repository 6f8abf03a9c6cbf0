/**
 * Case-insensitive globs: `*` matches any run of characters (including none), `?` exactly one character;
 * everything else is literal. Matching is a two-pointer walk (no regular expressions), so a pattern can never
 * backtrack catastrophically on long input.
 */

export interface Matcher {
  /** The pattern as written in the policy, for messages. */
  readonly pattern: string;
  test(value: string | undefined): boolean;
}

export const hasGlob = (text: string): boolean => /[*?]/.test(text);

export function compileGlob(pattern: string): Matcher {
  const wanted = [...pattern.toLowerCase()];
  if (!hasGlob(pattern)) {
    const exact = pattern.toLowerCase();
    return { pattern, test: (value) => typeof value === 'string' && value.toLowerCase() === exact };
  }
  return {
    pattern,
    test: (value) => typeof value === 'string' && globMatch(wanted, [...value.toLowerCase()]),
  };
}

function globMatch(pattern: readonly string[], text: readonly string[]): boolean {
  let p = 0;
  let t = 0;
  let starAt = -1;
  let resumeAt = 0;
  while (t < text.length) {
    const c = pattern[p];
    if (c === '*') {
      starAt = p;
      resumeAt = t;
      p += 1;
    } else if (c !== undefined && (c === '?' || c === text[t])) {
      p += 1;
      t += 1;
    } else if (starAt >= 0) {
      // Let the last star swallow one more character and retry from there.
      p = starAt + 1;
      resumeAt += 1;
      t = resumeAt;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p += 1;
  return p === pattern.length;
}

export const anyMatches = (matchers: readonly Matcher[], value: string | undefined): boolean =>
  matchers.some((matcher) => matcher.test(value));
