import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSession, SESSION_FILE } from '../../../dev/examples.js';
import { startLocalEnvironment, type LocalEnvironment } from '../../../dev/local-environment.js';

/** The `exp` claim of a JWT, in seconds. */
function expiryOf(token: string): number {
  const payload = token.split('.')[1] ?? '';
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp: number }).exp;
}

describe('the local environment of npm start', () => {
  let local: LocalEnvironment;
  const startedIn = process.cwd();

  beforeAll(async () => {
    // The session file is written where the command runs: here, a directory of the test's own.
    process.chdir(mkdtempSync(join(tmpdir(), 'local-env-')));
    local = await startLocalEnvironment({ port: '7999', tokenLifetimeSeconds: 2 });
  });
  afterAll(async () => {
    await local.close();
    process.chdir(startedIn);
  });

  it('issues its bearer and discovery tokens again before they expire, keeping what examples wrote', async () => {
    const first = readSession();
    // `npm run example` moves the counter meanwhile; renewal must not undo that.
    writeFileSync(SESSION_FILE, JSON.stringify({ ...first, nextExample: 5 }), { mode: 0o600 });
    let renewed = readSession();
    for (let i = 0; i < 50 && renewed.bearerToken === first.bearerToken; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      renewed = readSession();
    }
    expect(renewed.bearerToken).not.toBe(first.bearerToken);
    expect(renewed.discoveryToken).not.toBe(first.discoveryToken);
    expect(expiryOf(renewed.bearerToken)).toBeGreaterThanOrEqual(expiryOf(first.bearerToken));
    expect(renewed.bearerExpiresAt).toBeGreaterThan(first.bearerExpiresAt);
    expect(renewed.nextExample).toBe(5);
  });
});
