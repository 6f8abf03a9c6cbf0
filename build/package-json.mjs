// Prints the deployed package's package.json: name, version, and what the Functions host reads (`main`,
// `type`). No dependencies: they are inside dist/bundle/index.js (build/bundle.mjs), and the package ships no
// node_modules. Used by infra/scripts/stage-package.sh and .ps1 so both write the same file.
import { readFileSync } from 'node:fs';

const source = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const staged = {
  name: source.name,
  version: source.version,
  private: true,
  type: source.type,
  main: source.main,
  engines: source.engines,
};
process.stdout.write(`${JSON.stringify(staged, null, 2)}\n`);
