import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROBLEM_TYPES } from '../../../src/http/problem.js';

/** docs/errors.md must describe every problem type the code can return, with the status the code uses. */

const page = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const headings = page
  .split('\n')
  .filter((line) => line.startsWith('### '))
  .map((line) => line.slice(4));

describe('docs/errors.md', () => {
  for (const { slug, status } of Object.values(PROBLEM_TYPES)) {
    it(`documents ${slug} (${status})`, () => {
      expect(headings.some((heading) => heading === slug || heading.startsWith(`${slug} `))).toBe(true);
      const row = page.split('\n').find((line) => line.startsWith(`| [\`${slug}\`]`));
      expect(row, `summary table row for ${slug}`).toBeDefined();
      expect(row?.split('|')[2]?.trim()).toBe(String(status));
    });
  }

  it('documents no problem type the code does not have', () => {
    const slugs = new Set<string>(Object.values(PROBLEM_TYPES).map((t) => t.slug));
    const rows = [...page.matchAll(/^\| \[`([a-z-]+)`\]/gm)].map((m) => m[1]);
    expect(rows.filter((slug) => slug === undefined || !slugs.has(slug))).toEqual([]);
  });
});
