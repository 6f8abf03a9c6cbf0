import { execFileSync } from 'node:child_process';

/**
 * vitest globalSetup: tests import src/ as TypeScript, and src/ imports the validators Ajv compiles at build
 * time (src/generated/, git-ignored). Generating them here, rather than falling back to compiling schemas at
 * run time, means a test never runs code the app would not: `npx vitest run test/…` on a fresh clone works,
 * and a changed schema is always the one tested. Unchanged files are not rewritten.
 */
export function setup(): void {
  execFileSync(process.execPath, ['build/generate-validators.mjs'], { stdio: 'inherit' });
}
