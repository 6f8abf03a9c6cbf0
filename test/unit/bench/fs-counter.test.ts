import { readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installFsCounter } from '../../../bench/fs-counter.js';

// Installs process-wide wrappers: fine in vitest's forks pool, where each test file has its own process.
const counter = installFsCounter();
const dir = mkdtempSync(join(tmpdir(), 'fs-counter-test-'));
const file = join(dir, 'a.txt');
writeFileSync(file, 'hello');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fs counter', () => {
  it('sees ESM named imports, counts outermost calls only, and resets', async () => {
    counter.reset();
    expect(readFileSync(file, 'utf8')).toBe('hello');
    expect(readFileSync(file).length).toBe(5);
    expect(await readFile(file, 'utf8')).toBe('hello');
    const counts = counter.counts();
    expect(counts.byFunction).toEqual({ readFileSync: 2, 'promises.readFile': 1 });
    expect(counts.total).toBe(3);
    expect(counts.paths[0]).toBe(`readFileSync ${file}`);
    counter.reset();
    expect(counter.counts().total).toBe(0);
  });
});
