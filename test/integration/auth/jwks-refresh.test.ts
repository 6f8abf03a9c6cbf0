import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOpenIdStandIn, type OpenIdStandIn } from '../../../dev/sandbox/openid.js';
import { createEntraVerifier, type EntraVerifierOptions } from '../../../src/auth/entra-token.js';

/**
 * Signing-key refreshes: an unknown `kid` refreshes the keys at once (a rollover is not refused), but never more
 * than once per interval and never twice at the same time, whether the cached keys are fresh or not, and
 * whether the identity provider answers or not.
 */

const AUDIENCE = 'api://private-link-approver';
const CALLER = randomUUID();
let clock = Date.UTC(2026, 10, 30, 9, 0);
let standIn: OpenIdStandIn;

beforeAll(async () => {
  standIn = await startOpenIdStandIn({ now: () => clock });
});
afterAll(async () => {
  await standIn.close();
});
beforeEach(() => standIn.setOutage({}));

function verifier(overrides: Partial<EntraVerifierOptions> = {}) {
  return createEntraVerifier({
    tenantId: standIn.tenantId,
    audience: AUDIENCE,
    authorityHost: standIn.authorityHost,
    allowedTenants: [standIn.tenantId],
    allowedCallers: [CALLER],
    now: () => clock,
    ...overrides,
  });
}

const claims = { aud: AUDIENCE, oid: CALLER, azp: CALLER };

describe('unknown signing keys', () => {
  it('tokens with random kids during a JWKS outage cause a bounded number of fetches', async () => {
    const v = verifier();
    expect((await v.verify(`Bearer ${await standIn.issueToken(claims)}`)).ok).toBe(true);
    standIn.setOutage({ jwks: true });
    const before = standIn.counts().jwks;
    // 30 s of a flood: 200 forged tokens, each naming a kid nobody published.
    for (let i = 0; i < 200; i++) {
      const token = await standIn.issueToken(claims, { signWith: 'foreign', kid: randomUUID() });
      const result = await v.verify(`Bearer ${token}`);
      expect(result.ok).toBe(false);
      clock += 150;
    }
    const fetches = standIn.counts().jwks - before;
    expect(fetches).toBeGreaterThan(0);
    expect(fetches).toBeLessThanOrEqual(7);
  });

  it('a stale key set during a JWKS outage is looked for again only once the retry interval passed', async () => {
    const v = verifier();
    const good = await standIn.issueToken(claims);
    expect((await v.verify(`Bearer ${good}`)).ok).toBe(true);
    standIn.setOutage({ jwks: true });
    clock += 11 * 60_000; // the cached keys are now older than they may be kept without a look
    const before = standIn.counts().jwks;
    // 30 s of forged tokens that name the published kid: each would otherwise fetch the set.
    const [header, payload] = good.split('.');
    for (let i = 0; i < 200; i++) {
      expect((await v.verify(`Bearer ${header}.${payload}.${'A'.repeat(342)}`)).ok).toBe(false);
      clock += 150;
    }
    const fetches = standIn.counts().jwks - before;
    expect(fetches).toBeGreaterThan(0);
    expect(fetches).toBeLessThanOrEqual(7);
    // The keys held still verify a genuine token meanwhile.
    expect((await v.verify(`Bearer ${good}`)).ok).toBe(true);
  });

  it('concurrent tokens with unknown kids share one fetch', async () => {
    const v = verifier();
    expect((await v.verify(`Bearer ${await standIn.issueToken(claims)}`)).ok).toBe(true);
    clock += 60_000;
    const before = standIn.counts().jwks;
    const forged = await Promise.all(
      Array.from({ length: 50 }, () =>
        standIn.issueToken(claims, { signWith: 'foreign', kid: randomUUID() }),
      ),
    );
    await Promise.all(forged.map((token) => v.verify(`Bearer ${token}`)));
    expect(standIn.counts().jwks - before).toBe(1);
  });

  it('a key rollover right after the keys were loaded is accepted at once', async () => {
    const v = verifier();
    expect((await v.verify(`Bearer ${await standIn.issueToken(claims)}`)).ok).toBe(true);
    await standIn.rotateKeys();
    const result = await v.verify(`Bearer ${await standIn.issueToken(claims)}`);
    expect(result.ok).toBe(true);
  });
});
