import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * What starting the deployed bundle loads, in a fresh process, up to its first storage request: the entry builds
 * its clients at import and starts creating its tables just after it, so this is also what the first storage call
 * costs. Node's fetch implementation (undici) must not be among it: the SDK pipelines' `typeof FormData` check
 * would load it on the first request, and on Node 22 so would the ESM view of node:http; the bundle defines
 * FormData away and takes node:http through `require` (build/bundle.mjs). `npm test` runs this on Node 22 in CI
 * and on Node 20 too.
 */

const bundle = fileURLToPath(new URL('../../../dist/bundle/index.js', import.meta.url));
const run = promisify(execFile);

// Storage is a local server that answers 500: what counts is that a request reached it (the SDK got past every
// pipeline step, the FormData check included) before the modules are listed. Azurite's published account key.
const probe = `
import { createServer } from 'node:http';
let arrived;
const first = new Promise((resolve) => (arrived = resolve));
const server = createServer((req, res) => { arrived(req.method + ' ' + req.url); res.writeHead(500).end(); });
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = 'http://127.0.0.1:' + server.address().port + '/devstoreaccount1';
const key = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
process.env.AzureWebJobsStorage = 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=' + key +
  ';TableEndpoint=' + base + ';QueueEndpoint=' + base;
const before = new Set(process.moduleLoadList);
await import(${JSON.stringify(bundle)});
const request = await first;
const loaded = process.moduleLoadList.filter((m) => !before.has(m));
process.stdout.write('\\n' + JSON.stringify({ request, loaded }) + '\\n');
process.exit(0);
`;

describe('starting the deployed bundle', () => {
  it('builds the app and sends its first storage request without loading Node’s fetch implementation', async () => {
    expect(existsSync(bundle), 'run npm run build first').toBe(true);
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH ?? '' },
      timeout: 30_000,
    });
    const lines = stdout.trim().split('\n');
    expect(stdout, 'the app must start (policy loaded), or no storage call is made').toContain(
      '"policy.loaded"',
    );
    const { request, loaded } = JSON.parse(lines.at(-1) ?? '{}') as { request: string; loaded: string[] };
    expect(request, 'the first storage request (creating a table or the queue)').toMatch(/^(POST|PUT) /);
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
