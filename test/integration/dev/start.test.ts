import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const START_SCRIPT = 'dist/dev/start.js';

describe('npm start on a port another host already holds', () => {
  let other: Server;
  let port: number;

  beforeAll(async () => {
    // Another host: it answers health like ours would, so only asking for the port itself tells them apart.
    other = createServer((_req, res) => res.end('{"status":"ok"}'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    port = (other.address() as AddressInfo).port;
  });
  afterAll(() => {
    other.closeAllConnections();
    return new Promise<void>((resolve) => other.close(() => resolve()));
  });

  it('stops at once, saying so, before it starts anything or prints a request for the other host', async () => {
    if (!existsSync(START_SCRIPT)) throw new Error(`${START_SCRIPT} is missing: run \`npm run build\` first`);
    const child = spawn(process.execPath, [START_SCRIPT], {
      env: { PATH: process.env.PATH ?? '', PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(out).toContain(`port ${port} is already in use`);
    expect(out).not.toContain('curl');
    expect(out).not.toContain('sandbox');
  });
});
