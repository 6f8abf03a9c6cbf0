import { createRequire, syncBuiltinESMExports } from 'node:module';

/**
 * Counts calls to node:fs read functions by replacing them, before the app is imported, with wrappers that
 * count and delegate. `syncBuiltinESMExports()` makes `import { readFileSync } from 'node:fs'` (ESM named
 * imports, which are bound to the builtin's export object) see the wrappers too.
 *
 * Only outermost calls count: node's own readFileSync calls fs.openSync internally, and that is one read,
 * not two. (An open that an fs function starts later, asynchronously, would still count separately.)
 */

export interface FsCounts {
  total: number;
  byFunction: Record<string, number>;
  /** The first few paths read, to say what was read when the total is not 0. */
  paths: string[];
}

export interface FsCounter {
  counts(): FsCounts;
  reset(): void;
}

const MAX_PATHS = 10;

/** `promises` functions live on the same object as `node:fs/promises` (`fs.promises === require('fs/promises')`). */
const TARGETS: ReadonlyArray<{ module: 'fs' | 'fs/promises'; name: string; label: string }> = [
  { module: 'fs', name: 'readFileSync', label: 'readFileSync' },
  { module: 'fs', name: 'readFile', label: 'readFile' },
  { module: 'fs', name: 'open', label: 'open' },
  { module: 'fs', name: 'openSync', label: 'openSync' },
  { module: 'fs', name: 'createReadStream', label: 'createReadStream' },
  { module: 'fs/promises', name: 'readFile', label: 'promises.readFile' },
  { module: 'fs/promises', name: 'open', label: 'promises.open' },
];

export class FsCounterError extends Error {
  override readonly name = 'FsCounterError';
}

function describePath(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof URL) return value.href;
  if (typeof value === 'number') return `fd ${value}`;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return typeof value;
}

export function installFsCounter(): FsCounter {
  const require = createRequire(import.meta.url);
  const modules: Record<'fs' | 'fs/promises', object> = {
    fs: require('node:fs') as object,
    'fs/promises': require('node:fs/promises') as object,
  };
  let byFunction: Record<string, number> = {};
  let paths: string[] = [];
  let depth = 0;

  for (const target of TARGETS) {
    const owner = modules[target.module];
    const original: unknown = Reflect.get(owner, target.name);
    if (typeof original !== 'function')
      throw new FsCounterError(`node:${target.module}.${target.name} is not a function`);
    const wrapper = function (this: unknown, ...args: unknown[]): unknown {
      if (depth === 0) {
        byFunction[target.label] = (byFunction[target.label] ?? 0) + 1;
        if (paths.length < MAX_PATHS) paths.push(`${target.label} ${describePath(args[0])}`);
      }
      depth += 1;
      try {
        return Reflect.apply(original, this, args) as unknown;
      } finally {
        depth -= 1;
      }
    };
    Reflect.set(owner, target.name, wrapper);
  }
  syncBuiltinESMExports();

  return {
    counts: () => ({
      total: Object.values(byFunction).reduce((a, b) => a + b, 0),
      byFunction: { ...byFunction },
      paths: [...paths],
    }),
    reset() {
      byFunction = {};
      paths = [];
    },
  };
}
