import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * What importing the deployed bundle loads, in a fresh process: the entry builds its clients and starts creating
 * its tables at import, so this is also what the first storage call costs. Node's fetch implementation (undici)
 * must not be among it: the SDK pipelines' `typeof FormData` check would load it on the first request, and on
 * Node 22 so would the ESM view of node:http; the bundle defines FormData away and takes node:http through
 * `require` (build/bundle.mjs). `npm test` runs this on Node 22 in CI and on Node 20 too.
 */

const bundle = fileURLToPath(new URL('../../../dist/bundle/index.js', import.meta.url));
const run = promisify(execFile);

const probe = `
const before = new Set(process.moduleLoadList);
await import(${JSON.stringify(bundle)});
const loaded = process.moduleLoadList.filter((m) => !before.has(m));
process.stdout.write('\\n' + JSON.stringify(loaded) + '\\n');
process.exit(0);
`;

describe('importing the deployed bundle', () => {
  it('builds the app and starts its storage calls without loading Node’s fetch implementation', async () => {
    expect(existsSync(bundle), 'run npm run build first').toBe(true);
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: tmpdir(),
      // Any address will do: the tables' creation starts at import, and the process exits right after it.
      env: { PATH: process.env.PATH ?? '', AzureWebJobsStorage: 'UseDevelopmentStorage=true' },
    });
    const lines = stdout.trim().split('\n');
    expect(stdout, 'the app must start (policy loaded), or no storage call is made').toContain(
      '"policy.loaded"',
    );
    const loaded = JSON.parse(lines.at(-1) ?? '[]') as string[];
    expect(loaded, 'the storage client must have been used').toContain('NativeModule http');
    expect(loaded.filter((m) => m.includes('undici'))).toEqual([]);
  });

  it('leaves out jsonwebtoken, which only certificate credentials (never configured here) would call', () => {
    const meta = JSON.parse(readFileSync(new URL('meta.json', `file://${bundle}`), 'utf8')) as {
      outputs: Record<string, { inputs: Record<string, unknown> }>;
    };
    const inputs = Object.keys(meta.outputs['dist/bundle/index.js']?.inputs ?? {});
    expect(inputs.some((input) => input.includes('node_modules/@azure/msal-node/'))).toBe(true);
    expect(
      inputs.filter((input) => /node_modules\/(jsonwebtoken|jws|jwa|semver|lodash\.[a-z]+)\//.test(input)),
    ).toEqual([]);
    expect(readFileSync(bundle, 'utf8')).toContain(
      'Client assertions (certificate credentials) are not supported',
    );
  });
});
