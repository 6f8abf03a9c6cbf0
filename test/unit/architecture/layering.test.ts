import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The layering of docs/architecture.md, enforced: the rules in .dependency-cruiser.json pass on the real tree
 * and catch each kind of break in a tree that breaks them on purpose.
 */

const run = promisify(execFile);
const CLI = resolve('node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = resolve('.dependency-cruiser.json');

async function cruise(cwd: string, paths: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(
      process.execPath,
      [CLI, ...paths, '--config', CONFIG, '--output-type', 'err-long'],
      {
        cwd,
      },
    );
    return { code: 0, out: stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? 1, out: failed.stdout ?? '' };
  }
}

describe('layering', () => {
  it('the real tree follows every rule', async () => {
    const result = await cruise(resolve('.'), ['src', 'dev', 'bench']);
    expect(result.out).toContain('no dependency violations found');
    expect(result.code).toBe(0);
  }, 60_000);

  it('a wrong import is caught, by the rule it breaks', async () => {
    const result = await cruise(resolve('test/fixtures/layering'), ['src', 'dev']);
    expect(result.code).not.toBe(0);
    for (const rule of [
      'model-is-the-bottom',
      'no-cycles',
      'src-stands-alone',
      'dependencies-know-no-callers',
    ]) {
      expect(result.out, rule).toContain(rule);
    }
  }, 60_000);
});
