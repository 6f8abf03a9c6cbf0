import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** A policy hash shown in the docs is the hash of the example policy the samples ran on, so a reader can match it. */

const read = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const EXAMPLE = sha256(read('policy/examples/sandbox.yaml'));

describe('policy hashes in the docs', () => {
  for (const page of ['docs/policy.md', 'docs/errors.md', 'docs/operations.md']) {
    it(`${page} shows the hash of policy/examples/sandbox.yaml`, () => {
      const shown = [...read(page).matchAll(/"(?:policySha256|sha256)": "([0-9a-f]{64})"/g)].map((m) => m[1]);
      expect(shown.length).toBeGreaterThan(0);
      expect(shown.filter((hash) => hash !== EXAMPLE)).toEqual([]);
    });
  }
});
