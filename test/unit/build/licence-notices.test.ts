import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The deployed bundle carries the licence of every package inside it (index.js.LEGAL.txt, staged beside it).
 * Reads the build's own output (`npm test` builds before vitest), so it checks what is actually shipped.
 */

const bundle = (file: string) => fileURLToPath(new URL(`../../../dist/bundle/${file}`, import.meta.url));

interface Metafile {
  outputs: Record<string, { inputs: Record<string, unknown> }>;
}

describe('licence notices of the deployed bundle', () => {
  it('name every bundled package, each with its licence text', () => {
    expect(existsSync(bundle('meta.json')), 'run npm run build first').toBe(true);
    const meta = JSON.parse(readFileSync(bundle('meta.json'), 'utf8')) as Metafile;
    const inputs = Object.keys(meta.outputs['dist/bundle/index.js']?.inputs ?? {});
    const packages = new Set(
      inputs.flatMap((input) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1] ?? []),
    );
    expect(packages.size).toBeGreaterThan(20);
    const notices = readFileSync(bundle('index.js.LEGAL.txt'), 'utf8');
    for (const name of packages)
      expect(notices, name).toMatch(new RegExp(`^${name.replace('/', '\\/')}@`, 'm'));
    expect(notices).toMatch(/Permission is hereby granted/);
  });
});
