import { describe, expect, it } from 'vitest';
import { EntryPointError, nodeScriptOf, parseEntryPoints } from '../../../bench/entry-points.js';

describe('bench entry points', () => {
  it('takes the file node runs in the last node command of a script', () => {
    expect(nodeScriptOf('npm run build && node dist/dev/host.js')).toBe('dist/dev/host.js');
    expect(nodeScriptOf('npm run build && node --enable-source-maps dist/host.mjs --port 1')).toBe(
      'dist/host.mjs',
    );
    expect(nodeScriptOf('node --import ./hooks.js dist/a.js; node dist/b.js')).toBe('dist/b.js');
    expect(nodeScriptOf('node --import ./hooks.js dist/a.js')).toBe('dist/a.js');
    expect(nodeScriptOf('npm run build')).toBeUndefined();
  });

  it('reads main and the serve script from package.json', () => {
    const pkg = JSON.stringify({
      main: 'dist/index.mjs',
      scripts: { serve: 'npm run build && node --enable-source-maps dist/host.mjs' },
    });
    expect(parseEntryPoints(pkg)).toEqual({ main: 'dist/index.mjs', serve: 'dist/host.mjs' });
  });

  it('says what is missing rather than guessing', () => {
    expect(() => parseEntryPoints(JSON.stringify({ scripts: { serve: 'node x.js' } }))).toThrow(
      EntryPointError,
    );
    expect(() => parseEntryPoints(JSON.stringify({ main: 'x.js', scripts: { serve: 'tsx x.ts' } }))).toThrow(
      /runs no node/,
    );
  });
});
