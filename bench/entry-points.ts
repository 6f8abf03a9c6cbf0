import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * What the bench starts and imports, read from package.json rather than written here: `main` is what the
 * Functions host imports, and the `serve` script's `node <file>` is the local host. When the build changes
 * shape (a bundle instead of tsc's output), cold start, import time and every bench host follow it.
 */

export interface EntryPoints {
  /** package.json `main`, relative to the repository root. */
  main: string;
  /** The file `npm run serve` hands to node, relative to the repository root. */
  serve: string;
}

export class EntryPointError extends Error {
  override readonly name = 'EntryPointError';
}

/** The repository root: the bench runs from dist/bench/, two levels below it. */
const ROOT_URL = new URL('../../', import.meta.url);

/** node flags that take the next word as their value (`--import tsx`), so that word is not the script. */
const FLAGS_WITH_VALUE = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/**
 * The script `node` runs in a package.json script: the last `&&`/`;`-separated command that starts with `node`,
 * after node's own flags.
 */
export function nodeScriptOf(script: string): string | undefined {
  const commands = script
    .split(/&&|;/)
    .map((c) => c.trim().split(/\s+/))
    .filter((words) => words[0] === 'node');
  const words = commands.at(-1)?.slice(1) ?? [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    if (FLAGS_WITH_VALUE.has(word)) i += 1;
    else if (!word.startsWith('-')) return word;
  }
  return undefined;
}

export function parseEntryPoints(packageJson: string): EntryPoints {
  const parsed = JSON.parse(packageJson) as { main?: unknown; scripts?: Record<string, unknown> };
  const main = parsed.main;
  const serveScript = parsed.scripts?.serve;
  if (typeof main !== 'string' || main.length === 0) throw new EntryPointError('package.json has no main');
  if (typeof serveScript !== 'string') throw new EntryPointError('package.json has no serve script');
  const serve = nodeScriptOf(serveScript);
  if (serve === undefined) {
    throw new EntryPointError(`the serve script runs no node <file>: ${serveScript}`);
  }
  return { main, serve };
}

let cached: EntryPoints | undefined;

export function entryPoints(): EntryPoints {
  cached ??= parseEntryPoints(readFileSync(new URL('package.json', ROOT_URL), 'utf8'));
  return cached;
}

/** Absolute path of a file named relative to the repository root. */
export function fromRoot(relative: string): string {
  return fileURLToPath(new URL(relative, ROOT_URL));
}
