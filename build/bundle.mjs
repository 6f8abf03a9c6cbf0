// Bundles the two entry points that start a server, each into one ESM file with its source map:
//   dist/bundle/index.js   the Functions entry (package.json `main`; the deployed package's only code)
//   dist/bundle/host.js    the local host (`npm run serve`, `npm start`, the bench and the e2e child hosts)
// Why: unbundled, `import('dist/src/index.js')` resolves and reads ~730 files (MSAL, identity, data-tables,
// ts-http-runtime, yaml, ajv, jose, Key Vault …) before the first request; one file is read and compiled once.
// Names stay readable (no minification) so stack traces and profiles of production read like the source.
// Run after tsc (`npm run build`), which typechecks and emits dist/ for the tests, CLIs and the bench.
import { mkdir, writeFile } from 'node:fs/promises';
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
  minify: false,
  legalComments: 'linked',
  banner: { js: banner },
  // The Functions worker provides @azure/functions-core at run time (a require its Node.js worker answers);
  // it is on no registry, so it cannot be bundled: @azure/functions require()s it through the banner's require.
  external: ['@azure/functions-core'],
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
