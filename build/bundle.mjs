// Bundles the two entry points that start a server, each into one ESM file with its source map:
//   dist/bundle/index.js   the Functions entry (package.json `main`; the deployed package's only code)
//   dist/bundle/host.js    the local host (`npm run serve`, `npm start`, the bench and the e2e child hosts)
// Why: unbundled, `import('dist/src/index.js')` resolves and reads ~730 files (MSAL, identity, data-tables,
// ts-http-runtime, yaml, ajv, jose, Key Vault …) before the first request; one file is read and compiled once.
// Whitespace and syntax are minified (the compile of ~1.8 MB instead of ~2.7 MB: about 8 ms of every start);
// identifiers are not, so stack traces and profiles of production still name our functions, and the linked
// source map turns their line:column back into src/ (node --enable-source-maps).
// Run after tsc (`npm run build`), which typechecks and emits dist/ for the tests, CLIs and the bench.
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/bundle');

// CommonJS dependencies inside an ESM bundle still call require() (for Node built-ins, and for
// @azure/functions-core below); an ESM file has no `require`, so the bundle makes one for its own location.
// The import is aliased so it cannot clash with a bundled module's own `createRequire` import.
const banner = [
  "import { createRequire as __bundleCreateRequire } from 'node:module';",
  'const require = __bundleCreateRequire(import.meta.url);',
].join('\n');

/**
 * yaml's package sends Node to its CommonJS build (kept whole by the bundler, ~250 KiB) and everything else to
 * its ESM build: the same code, except that yaml's own run-time warnings go to console.warn instead of
 * process.emitWarning (the policy loader reads the document's errors and warnings, which are the same).
 */
const yamlAsEsm = {
  name: 'yaml-as-esm',
  setup(build) {
    build.onResolve({ filter: /^yaml$/ }, () => ({
      path: join(root, 'node_modules/yaml/browser/index.js'),
    }));
  },
};

/**
 * MSAL imports jsonwebtoken (and with it jws, jwa, semver and seven lodash modules: ~95 KiB of the bundle, about
 * 2 ms of every start's compile and more to evaluate) for one call, `jwt.sign`, when a confidential client signs
 * a client assertion with a certificate. The app's credentials are a managed identity or the Azure CLI
 * (AZURE_CREDENTIAL), and neither signs one, so MSAL gets a stand-in whose `sign` says so instead of the package.
 */
const noClientAssertions = {
  name: 'no-client-assertions',
  setup(build) {
    build.onResolve({ filter: /^jsonwebtoken$/ }, (args) =>
      args.importer.includes('/@azure/msal-node/')
        ? { path: 'jsonwebtoken', namespace: 'stand-in' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'stand-in' }, () => ({
      contents: [
        'const sign = () => {',
        "  throw new Error('Client assertions (certificate credentials) are not supported: use a managed identity " +
          "or the Azure CLI (AZURE_CREDENTIAL).');",
        '};',
        'export default { sign };',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

/**
 * Node 22 (the Azure runtime) builds the ESM view of `node:http` by reading every export, and three of them
 * (WebSocket, CloseEvent, MessageEvent) are getters that load its fetch implementation, undici: ~15 ms of
 * every start, for nothing here. Through `require` there is no ESM view, so the bundle's imports of node:http
 * go through a CommonJS module that requires it; what they import is the same object.
 */
const httpThroughRequire = {
  name: 'http-through-require',
  setup(build) {
    build.onResolve({ filter: /^(node:)?http$/ }, (args) =>
      args.namespace === 'http-cjs' ? undefined : { path: 'node:http', namespace: 'http-cjs' },
    );
    build.onLoad({ filter: /.*/, namespace: 'http-cjs' }, () => ({
      contents: "module.exports = require('node:http');",
      loader: 'js',
    }));
  },
};

const result = await build({
  absWorkingDir: root,
  entryPoints: { index: 'src/index.ts', host: 'dev/host.ts' },
  outdir,
  bundle: true,
  splitting: false,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Prefer a package's ESM build: it tree-shakes; a CommonJS build is kept whole.
  mainFields: ['module', 'main'],
  sourcemap: 'linked',
  sourcesContent: false,
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: false,
  legalComments: 'linked',
  banner: { js: banner },
  // The Functions worker provides @azure/functions-core at run time (a require its Node.js worker answers);
  // it is on no registry, so it cannot be bundled: @azure/functions require()s it through the banner's require.
  external: ['@azure/functions-core'],
  // Nothing here sends multipart bodies, yet the SDK pipelines' form-data step asks `typeof FormData` on every
  // request, and that first look loads Node's whole fetch implementation (undici): ~14 ms on the first storage
  // call, which the entry makes just after its import (creating its tables). Defined away, that check is false.
  // Every FormData use in the bundled code sits behind that `typeof` (a test imports the bundle and checks).
  define: { FormData: 'undefined' },
  plugins: [yamlAsEsm, noClientAssertions, httpThroughRequire],
  metafile: true,
  logLevel: 'warning',
});

await mkdir(outdir, { recursive: true });
// What went into each file and why (esbuild's analyze format): for `npx esbuild --analyze` style reading.
await writeFile(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (!file.endsWith('.js')) continue;
  const inputs = Object.keys(output.inputs).length;
  console.error(`bundle: ${file} ${(output.bytes / 1024).toFixed(0)} KiB from ${inputs} modules`);
}

await appendNotices(result.metafile.outputs['dist/bundle/index.js'], join(outdir, 'index.js.LEGAL.txt'));

/**
 * esbuild's linked legal comments hold only the `/*!` and `@license` comments it met, which most packages do not
 * have: the deployed bundle must carry every bundled package's own licence (and NOTICE) files, so they are
 * appended here, one section per package, from the package folders the bundle's inputs came from.
 */
async function appendNotices(output, legalFile) {
  const folders = new Set();
  for (const input of Object.keys(output.inputs)) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) folders.add(match[1]);
  }
  const sections = [];
  for (const folder of [...folders].sort()) {
    const manifest = JSON.parse(await readFile(join(root, folder, 'package.json'), 'utf8'));
    const files = (await readdir(join(root, folder)))
      .filter((f) => /^(licen[cs]e|notice|copying)/i.test(f))
      .sort();
    const texts = await Promise.all(files.map((f) => readFile(join(root, folder, f), 'utf8')));
    const body =
      texts.length > 0
        ? texts.join('\n')
        : `License: ${manifest.license ?? 'not stated'} (no licence file in the package)`;
    sections.push(
      `${'='.repeat(78)}\n${manifest.name}@${manifest.version}\n${'='.repeat(78)}\n${body.trim()}\n`,
    );
  }
  const heading = `\n\nThird-party packages bundled into index.js (${sections.length}), with their licence files:\n\n`;
  await appendFile(legalFile, heading + sections.join('\n'));
  console.error(
    `bundle: licence notices of ${sections.length} packages in ${legalFile.slice(root.length + 1)}`,
  );
}
