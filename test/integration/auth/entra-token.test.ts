import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOpenIdStandIn, type OpenIdStandIn } from '../../../dev/sandbox/openid.js';
import { AuthConfigError } from '../../../src/auth/auth-error.js';
import {
  bearerChallenge,
  createEntraVerifier,
  type EntraFailure,
  type EntraResult,
  type EntraVerifierOptions,
} from '../../../src/auth/entra-token.js';

const START = Date.UTC(2025, 5, 2, 9, 30);
const AUDIENCE = 'api://private-link-approver';
const CALLER_OID = randomUUID();
const CALLER_APP = randomUUID();
const OTHER_TENANT = randomUUID();

let clock = START;
let standIn: OpenIdStandIn;

beforeAll(async () => {
  standIn = await startOpenIdStandIn({ now: () => clock });
});
afterAll(async () => {
  await standIn.close();
});
beforeEach(() => {
  clock = START;
  standIn.setOutage({});
  standIn.bindKeyTo(undefined);
});

function verifier(overrides: Partial<EntraVerifierOptions> = {}) {
  return createEntraVerifier({
    tenantId: standIn.tenantId,
    audience: AUDIENCE,
    authorityHost: standIn.authorityHost,
    allowedTenants: [standIn.tenantId],
    allowedCallers: [CALLER_OID],
    now: () => clock,
    // jose's 30 s cooldown would hide the refetch-on-unknown-kid behaviour from a test that rotates at once.
    jwksCooldownMs: 0,
    ...overrides,
  });
}

const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  aud: AUDIENCE,
  oid: CALLER_OID,
  azp: CALLER_APP,
  sub: 'subject-1',
  name: 'Change approvals Logic App',
  roles: ['Approvals.Write'],
  groups: ['g-1', 'g-2'],
  ...extra,
});

function failure(result: EntraResult): EntraFailure {
  if (result.ok) throw new Error(`expected a failure, got identity ${result.identity.id}`);
  return result;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Entra bearer token verification (real jose, local OpenID stand-in)', () => {
  const shared = { verify: (header: string | null) => verifierOnce().verify(header) };
  let cached: ReturnType<typeof verifier> | undefined;
  const verifierOnce = () => (cached ??= verifier());

  it('accepts a valid v2 token and returns the caller identity', async () => {
    const token = await standIn.issueToken(claims());
    const result = await shared.verify(`Bearer ${token}`);
    expect(result).toEqual({
      ok: true,
      identity: {
        id: CALLER_OID,
        name: 'Change approvals Logic App',
        tenantId: standIn.tenantId,
        roles: ['Approvals.Write'],
        groups: ['g-1', 'g-2'],
        groupsOverage: false,
        claims: expect.objectContaining({
          iss: `${standIn.authorityHost}/${standIn.tenantId}/v2.0`,
          aud: AUDIENCE,
          tid: standIn.tenantId,
          oid: CALLER_OID,
          azp: CALLER_APP,
          ver: '2.0',
        }),
      },
    });
  });

  it('accepts a valid v1 token (sts.windows.net issuer, appid)', async () => {
    const token = await standIn.issueToken(
      { aud: AUDIENCE, oid: CALLER_OID, appid: CALLER_APP, upn: 'robot@contoso.com' },
      { issuer: 'v1' },
    );
    const result = await shared.verify(`bearer ${token}`);
    expect(result).toMatchObject({
      ok: true,
      identity: {
        id: CALLER_OID,
        name: 'robot@contoso.com',
        roles: [],
        groups: [],
        claims: { iss: `https://sts.windows.net/${standIn.tenantId}/`, appid: CALLER_APP, ver: '1.0' },
      },
    });
  });

  it("accepts the API's client id and its default App ID URI for each other (v2 tokens name the client id)", async () => {
    const api = randomUUID();
    for (const [configured, aud] of [
      [`api://${api}`, api],
      [`api://${api}`, `api://${api}`],
      [api.toUpperCase(), `api://${api}`],
      [`https://contoso.com/approver, ${api}`, api],
      [`https://contoso.com/approver, ${api}`, 'https://contoso.com/approver'],
    ]) {
      const token = await standIn.issueToken(claims({ aud }));
      const result = await verifier({ audience: configured }).verify(`Bearer ${token}`);
      expect(result.ok, `${configured} / ${aud}`).toBe(true);
    }
    const other = await standIn.issueToken(claims({ aud: randomUUID() }));
    const refused = failure(await verifier({ audience: `api://${api}` }).verify(`Bearer ${other}`));
    expect(refused).toMatchObject({ status: 401, reason: 'wrong-audience' });
    expect(refused.message).toContain(`'${api}' or 'api://${api}'`);
    const custom = await standIn.issueToken(claims({ aud: 'https://contoso.com/approver' }));
    expect((await verifier({ audience: `api://${api}` }).verify(`Bearer ${custom}`)).ok).toBe(false);
  });

  it('allows a caller by app id when its oid is not listed, and uses oid as the id', async () => {
    const token = await standIn.issueToken(claims({ oid: randomUUID() }));
    const result = await verifier({ allowedCallers: [CALLER_APP.toUpperCase()] }).verify(`Bearer ${token}`);
    expect(result).toMatchObject({ ok: true, identity: { id: expect.not.stringMatching(CALLER_APP) } });
  });

  it("allows a user's token by the user's oid only, never by the app that obtained it", async () => {
    const allowApp = verifier({ allowedCallers: [CALLER_APP] });
    const user = randomUUID();
    for (const delegated of [
      claims({ oid: user, idtyp: 'user', scp: 'user_impersonation', roles: undefined }),
      claims({ oid: user, scp: 'user_impersonation', roles: undefined }),
      claims({ oid: user, idtyp: 'user' }),
    ]) {
      const result = failure(await allowApp.verify(`Bearer ${await standIn.issueToken(delegated)}`));
      expect(result).toMatchObject({ status: 403, reason: 'caller-not-allowed' });
      expect(result.message).toContain("a user token is allowed by the user's oid");
    }
    const asItself = await standIn.issueToken(claims({ oid: randomUUID(), idtyp: 'app' }));
    expect((await allowApp.verify(`Bearer ${asItself}`)).ok).toBe(true);
    const userAllowed = await standIn.issueToken(
      claims({ oid: user, idtyp: 'user', scp: 'user_impersonation' }),
    );
    expect((await verifier({ allowedCallers: [user] }).verify(`Bearer ${userAllowed}`)).ok).toBe(true);
  });

  it('falls back to azp/appid for the id and notes a groups overage', async () => {
    const token = await standIn.issueToken({
      aud: AUDIENCE,
      azp: CALLER_APP,
      app_displayname: 'approver-bot',
      _claim_names: { groups: 'src1' },
    });
    const result = await verifier({ allowedCallers: [CALLER_APP] }).verify(`Bearer ${token}`);
    expect(result).toMatchObject({
      ok: true,
      identity: { id: CALLER_APP, name: 'approver-bot', groups: [], groupsOverage: true },
    });
  });

  it('tolerates clock skew up to the configured amount', async () => {
    const expiredRecently = await standIn.issueToken(claims(), { expiresInSeconds: -60 });
    const startsSoon = await standIn.issueToken(claims(), { notBefore: Math.floor(clock / 1000) + 60 });
    expect((await shared.verify(`Bearer ${expiredRecently}`)).ok).toBe(true);
    expect((await shared.verify(`Bearer ${startsSoon}`)).ok).toBe(true);
    expect(failure(await verifier({ clockSkewSeconds: 0 }).verify(`Bearer ${expiredRecently}`)).reason).toBe(
      'expired',
    );
  });

  describe('refuses token faults with 401 invalid_token', () => {
    const cases: [string, () => Promise<string>, string][] = [
      ['alg none', () => standIn.issueToken(claims(), { alg: 'none' }), 'unsupported-alg'],
      [
        'HS256 keyed with the public key',
        () => standIn.issueToken(claims(), { alg: 'HS256' }),
        'unsupported-alg',
      ],
      [
        'a foreign key under a published kid',
        () => standIn.issueToken(claims(), { signWith: 'foreign' }),
        'bad-signature',
      ],
      [
        'a foreign key under its own kid',
        () => standIn.issueToken(claims(), { signWith: 'foreign', kid: 'foreign-kid' }),
        'unknown-key',
      ],
      [
        'the wrong audience',
        () => standIn.issueToken(claims({ aud: 'api://something-else' })),
        'wrong-audience',
      ],
      [
        'an audience list without ours',
        () => standIn.issueToken(claims({ aud: ['api://a', 'api://b'] })),
        'wrong-audience',
      ],
      ['an expired token', () => standIn.issueToken(claims(), { expiresInSeconds: -600 }), 'expired'],
      [
        'nbf in the future',
        () => standIn.issueToken(claims(), { notBefore: Math.floor(clock / 1000) + 600 }),
        'not-yet-valid',
      ],
      [
        'an issuer naming another tenant',
        () => standIn.issueToken(claims(), { issuer: `${standIn.authorityHost}/${OTHER_TENANT}/v2.0` }),
        'issuer-tenant-mismatch',
      ],
      [
        'a v1 issuer naming another tenant',
        () => standIn.issueToken(claims(), { issuer: `https://sts.windows.net/${OTHER_TENANT}/` }),
        'issuer-tenant-mismatch',
      ],
      [
        'an issuer from another authority',
        () => standIn.issueToken(claims(), { issuer: `https://login.example.com/${standIn.tenantId}/v2.0` }),
        'wrong-issuer',
      ],
      [
        'an audience list with ours among others',
        () => standIn.issueToken(claims({ aud: [AUDIENCE, 'api://other'] })),
        'wrong-audience',
      ],
      [
        'an ID token (no azp/appid)',
        () => standIn.issueToken({ aud: AUDIENCE, oid: CALLER_OID, nonce: 'n-1' }),
        'missing-claim',
      ],
      ['no tid', () => standIn.issueToken(claims({ tid: undefined })), 'missing-claim'],
      ['no caller claims', () => standIn.issueToken({ aud: AUDIENCE }), 'missing-claim'],
      [
        'a tampered payload',
        async () => {
          const [head, , sig] = (await standIn.issueToken(claims())).split('.');
          const forged = Buffer.from(JSON.stringify({ ...claims(), oid: randomUUID() })).toString(
            'base64url',
          );
          return `${head}.${forged}.${sig}`;
        },
        'bad-signature',
      ],
      ['garbage', async () => 'not-a-jwt', 'malformed-token'],
      ['a header that is not JSON', async () => 'bm90LWpzb24.e30.c2ln', 'malformed-token'],
      [
        'a token with no kid',
        async () => `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.e30.c2ln`,
        'malformed-token',
      ],
    ];
    it.each(cases)('%s', async (_label, makeToken, reason) => {
      const result = failure(await shared.verify(`Bearer ${await makeToken()}`));
      expect(result).toMatchObject({ status: 401, error: 'invalid_token', reason });
      expect(result.message.length).toBeGreaterThan(20);
    });

    it('refuses a valid token when its tenant is not on the allow-list: authenticated, not allowed (403)', async () => {
      const token = await standIn.issueToken(claims());
      expect(
        failure(await verifier({ allowedTenants: [OTHER_TENANT] }).verify(`Bearer ${token}`)),
      ).toMatchObject({
        status: 403,
        error: 'insufficient_scope',
        reason: 'tenant-not-allowed',
      });
      const foreign = await standIn.issueToken(claims({ tid: OTHER_TENANT }));
      expect(failure(await shared.verify(`Bearer ${foreign}`))).toMatchObject({
        status: 403,
        reason: 'tenant-not-allowed',
      });
      // An ID token (no azp/appid) is no credential here at all, whatever its tenant: 401.
      const idToken = await standIn.issueToken(claims({ tid: OTHER_TENANT, azp: undefined }));
      expect(failure(await shared.verify(`Bearer ${idToken}`))).toMatchObject({
        status: 401,
        reason: 'missing-claim',
      });
    });

    it('says why an expired token was refused, without echoing the token', async () => {
      const token = await standIn.issueToken(claims(), { expiresInSeconds: -600 });
      const result = failure(await shared.verify(`Bearer ${token}`));
      expect(result.message).toContain(new Date(START - 600_000).toISOString());
      expect(result.message).not.toContain(token.slice(0, 40));
    });
  });

  it.each([
    [null, 'missing-token', 'invalid_request'],
    ['', 'missing-token', 'invalid_request'],
    ['Basic dXNlcjpwYXNz', 'malformed-header', 'invalid_token'],
    ['Bearer', 'malformed-header', 'invalid_token'],
    ['Bearer a b', 'malformed-header', 'invalid_token'],
  ])('refuses Authorization %j with 401 (%s, %s)', async (header, reason, error) => {
    const refused = failure(await shared.verify(header));
    expect(refused).toMatchObject({ status: 401, error, reason });
    // RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
    const challenge = bearerChallenge(refused);
    if (reason === 'missing-token') expect(challenge).toBe('Bearer');
    else expect(challenge).toContain('error="invalid_token"');
  });

  describe('refuses valid tokens from callers that are not allowed with 403', () => {
    it('caller not on the allow-list', async () => {
      const token = await standIn.issueToken(claims({ oid: randomUUID(), azp: randomUUID() }));
      expect(failure(await shared.verify(`Bearer ${token}`))).toMatchObject({
        status: 403,
        error: 'insufficient_scope',
        reason: 'caller-not-allowed',
      });
    });

    it('empty allow-list refuses everyone', async () => {
      const token = await standIn.issueToken(claims());
      const result = failure(await verifier({ allowedCallers: [] }).verify(`Bearer ${token}`));
      expect(result).toMatchObject({ status: 403, reason: 'caller-not-allowed' });
      expect(result.message).toContain('ENTRA_ALLOWED_CALLERS is empty');
    });

    it('required role missing', async () => {
      const token = await standIn.issueToken(claims({ roles: ['Approvals.Read'] }));
      const result = failure(await verifier({ requiredRole: 'Approvals.Write' }).verify(`Bearer ${token}`));
      expect(result).toMatchObject({ status: 403, error: 'insufficient_scope', reason: 'missing-role' });
      const withRole = await standIn.issueToken(claims());
      expect((await verifier({ requiredRole: 'Approvals.Write' }).verify(`Bearer ${withRole}`)).ok).toBe(
        true,
      );
    });
  });

  it('fetches metadata and keys once across many verifications, including concurrent first ones', async () => {
    const before = standIn.counts();
    const fresh = verifier();
    const tokens = await Promise.all(
      Array.from({ length: 10 }, (_, i) => standIn.issueToken(claims({ uti: `u${i}` }))),
    );
    const first = await Promise.all(tokens.map((token) => fresh.verify(`Bearer ${token}`)));
    for (const token of tokens) await fresh.verify(`Bearer ${token}`);
    expect(first.every((result) => result.ok)).toBe(true);
    const after = standIn.counts();
    // Two metadata documents (v2 for keys and issuer, v1 for the v1 issuer), one JWKS.
    expect({ metadata: after.metadata - before.metadata, jwks: after.jwks - before.jwks }).toEqual({
      metadata: 2,
      jwks: 1,
    });
  });

  it('refetches the keys once when a token names a new kid after rotation', async () => {
    const fresh = verifier();
    expect((await fresh.verify(`Bearer ${await standIn.issueToken(claims())}`)).ok).toBe(true);
    const oldKidToken = await standIn.issueToken(claims());
    const before = standIn.counts();
    const newKid = await standIn.rotateKeys();
    const token = await standIn.issueToken(claims());
    expect(token.split('.')[0]).toEqual(
      Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: newKid })).toString('base64url'),
    );
    expect((await fresh.verify(`Bearer ${token}`)).ok).toBe(true);
    expect((await fresh.verify(`Bearer ${token}`)).ok).toBe(true);
    const after = standIn.counts();
    expect({ metadata: after.metadata - before.metadata, jwks: after.jwks - before.jwks }).toEqual({
      metadata: 0,
      jwks: 1,
    });
    // The retired key is gone from the set, so its tokens no longer verify.
    expect(failure(await fresh.verify(`Bearer ${oldKidToken}`)).reason).toBe('unknown-key');
  });

  it('with the default interval, a second unknown kid right after an unknown-kid refresh does not refetch', async () => {
    const fresh = verifier({ jwksCooldownMs: undefined });
    expect((await fresh.verify(`Bearer ${await standIn.issueToken(claims())}`)).ok).toBe(true);
    const before = standIn.counts();
    const token = await standIn.issueToken(claims(), { signWith: 'foreign', kid: 'never-published' });
    expect(failure(await fresh.verify(`Bearer ${token}`)).reason).toBe('unknown-key');
    expect(standIn.counts().jwks).toBe(before.jwks + 1);
    clock += 4_000;
    expect(failure(await fresh.verify(`Bearer ${token}`)).reason).toBe('unknown-key');
    expect(standIn.counts().jwks).toBe(before.jwks + 1);
  });

  it('answers 503, not unknown-key, for a new kid while the key set cannot be read again', async () => {
    const fresh = verifier({ jwksCooldownMs: undefined });
    expect((await fresh.verify(`Bearer ${await standIn.issueToken(claims())}`)).ok).toBe(true);
    await standIn.rotateKeys();
    const rolled = await standIn.issueToken(claims());
    standIn.setOutage({ jwks: true });
    expect(failure(await fresh.verify(`Bearer ${rolled}`))).toMatchObject({
      status: 503,
      reason: 'signing-keys-unavailable',
    });
    // Within the interval no second look is taken; the last one failed, so still no verdict.
    clock += 1_000;
    expect(failure(await fresh.verify(`Bearer ${rolled}`)).status).toBe(503);
    standIn.setOutage({});
    clock += 5_000;
    expect((await fresh.verify(`Bearer ${rolled}`)).ok).toBe(true);
  });

  it('answers 503 while metadata is unavailable, backs off, then recovers', async () => {
    const token = await standIn.issueToken(claims());
    standIn.setOutage({ metadata: true });
    const fresh = verifier({ retryAfterMs: 10_000 });
    const first = failure(await fresh.verify(`Bearer ${token}`));
    expect(first).toMatchObject({
      status: 503,
      error: 'temporarily_unavailable',
      reason: 'signing-keys-unavailable',
      retryAfterSeconds: 10,
    });
    expect(first.message).toContain('HTTP 503');

    standIn.setOutage({});
    const before = standIn.counts();
    clock += 4_000;
    expect(failure(await fresh.verify(`Bearer ${token}`))).toMatchObject({
      status: 503,
      retryAfterSeconds: 6,
    });
    expect(standIn.counts().metadata).toBe(before.metadata);

    clock += 6_000;
    expect((await fresh.verify(`Bearer ${token}`)).ok).toBe(true);
  });

  it('answers 503 when the authority cannot be reached at all', async () => {
    const token = await standIn.issueToken(claims());
    const unreachable = verifier({ authorityHost: `http://127.0.0.1:${await closedPort()}` });
    expect(failure(await unreachable.verify(`Bearer ${token}`))).toMatchObject({
      status: 503,
      reason: 'signing-keys-unavailable',
    });
  });

  it('answers 503 while the JWKS is unavailable, then recovers', async () => {
    const token = await standIn.issueToken(claims());
    standIn.setOutage({ jwks: true });
    const fresh = verifier();
    expect(failure(await fresh.verify(`Bearer ${token}`))).toMatchObject({ status: 503 });
    standIn.setOutage({});
    clock += 5_000;
    expect((await fresh.verify(`Bearer ${token}`)).ok).toBe(true);
  });

  it('never fails open on a fetch that throws', async () => {
    const token = await standIn.issueToken(claims());
    const broken = verifier({
      fetch: () => Promise.reject(new TypeError('fetch failed')),
    });
    expect(failure(await broken.verify(`Bearer ${token}`)).status).toBe(503);
  });

  it('supports a multi-tenant configuration ({tenantid} issuer placeholder)', async () => {
    const multi = verifier({
      tenantId: 'organizations',
      allowedTenants: [standIn.tenantId, OTHER_TENANT],
    });
    const ours = await standIn.issueToken(claims());
    const theirs = await standIn.issueToken(claims({ tid: OTHER_TENANT }), { issuer: 'v1' });
    const inconsistent = await standIn.issueToken(claims({ tid: OTHER_TENANT }), {
      issuer: `${standIn.authorityHost}/${standIn.tenantId}/v2.0`,
    });
    expect((await multi.verify(`Bearer ${ours}`)).ok).toBe(true);
    expect(await multi.verify(`Bearer ${theirs}`)).toMatchObject({
      ok: true,
      identity: { tenantId: OTHER_TENANT },
    });
    expect(failure(await multi.verify(`Bearer ${inconsistent}`)).reason).toBe('issuer-tenant-mismatch');
  });

  it("refuses a token whose signing key is published for another tenant's issuer", async () => {
    standIn.bindKeyTo(standIn.tenantId);
    const multi = verifier({ tenantId: 'organizations', allowedTenants: [standIn.tenantId, OTHER_TENANT] });
    expect((await multi.verify(`Bearer ${await standIn.issueToken(claims())}`)).ok).toBe(true);
    const v1 = await standIn.issueToken(claims(), { issuer: 'v1' });
    expect((await multi.verify(`Bearer ${v1}`)).ok).toBe(true);
    for (const issuer of ['v2', 'v1'] as const) {
      const theirs = await standIn.issueToken(claims({ tid: OTHER_TENANT }), { issuer });
      const refused = failure(await multi.verify(`Bearer ${theirs}`));
      expect(refused).toMatchObject({ status: 401, reason: 'key-issuer-mismatch' });
      expect(refused.message).toContain(standIn.tenantId);
    }
  });

  it('never throws on arbitrary Authorization values', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `Bearer ${s}`),
          fc
            .tuple(fc.base64String(), fc.base64String(), fc.base64String())
            .map((parts) => `Bearer ${parts.join('.').replace(/[+/=]/g, 'A')}`),
        ),
        async (header) => {
          const result = await shared.verify(header);
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses unsafe configuration up front', () => {
    expect(() => verifier({ authorityHost: 'http://login.microsoftonline.com' })).toThrow(AuthConfigError);
    expect(() => verifier({ authorityHost: 'not a url' })).toThrow(AuthConfigError);
    expect(() => verifier({ authorityHost: 'https://login.microsoftonline.com?x=1' })).toThrow(
      AuthConfigError,
    );
    expect(() => verifier({ tenantId: '../evil' })).toThrow(AuthConfigError);
    expect(() => verifier({ audience: ' ' })).toThrow(AuthConfigError);
    // A list entry that is neither a client id nor an App ID URI (a typo, a stray comma) is refused, not accepted.
    expect(() => verifier({ audience: 'https://contoso.com/a,b' })).toThrow(/neither a client id/);
    expect(() => verifier({ algorithms: [] })).toThrow(AuthConfigError);
    expect(() => verifier({ algorithms: ['HS256' as 'RS256'] })).toThrow(AuthConfigError);
    expect(() => verifier({ authorityHost: 'http://localhost:8080/' })).not.toThrow();
    expect(() => verifier({ authorityHost: 'https://login.microsoftonline.us/' })).not.toThrow();
  });

  it('builds RFC 6750 challenges', () => {
    expect(
      bearerChallenge({
        ok: false,
        status: 401,
        error: 'invalid_request',
        reason: 'missing-token',
        message: 'x',
      }),
    ).toBe('Bearer');
    expect(
      bearerChallenge({
        ok: false,
        status: 401,
        error: 'invalid_token',
        reason: 'expired',
        message: 'The "token" expired\n at ✓ noon\\',
      }),
    ).toBe('Bearer error="invalid_token", error_description="The token expired at  noon"');
    expect(
      bearerChallenge({
        ok: false,
        status: 503,
        error: 'temporarily_unavailable',
        reason: 'signing-keys-unavailable',
        message: 'x',
      }),
    ).toBeUndefined();
  });
});
