import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TokenServiceError, createTokenService } from '../../../dev/sandbox/tokens.js';

const ARM_AUDIENCE = 'https://management.azure.com';
const ARM = [ARM_AUDIENCE, 'https://management.azure.com/'];
const T0 = 1_700_000_000_000;

function service(clock = { now: T0 }, key = Buffer.alloc(32, 7)) {
  return { clock, tokens: createTokenService({ now: () => clock.now, lifetimeSeconds: 3600, key }) };
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('sandbox tokens', () => {
  it('issues JWT-shaped HS256 tokens with the managed identity claims', () => {
    const { tokens } = service();
    const issued = tokens.issue({ resource: 'https://management.azure.com', clientId: 'cid' });
    const [h, p] = issued.token.split('.');
    expect(JSON.parse(Buffer.from(h ?? '', 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(JSON.parse(Buffer.from(p ?? '', 'base64url').toString())).toMatchObject({
      aud: 'https://management.azure.com',
      iss: tokens.issuer,
      iat: T0 / 1000,
      nbf: T0 / 1000 - 300,
      exp: T0 / 1000 + 3600,
      oid: 'cid',
      appid: 'cid',
      tid: tokens.tenantId,
    });
    expect(issued.expiresOn).toBe(T0 / 1000 + 3600);
    expect(tokens.verify(issued.token, ARM)).toMatchObject({ ok: true, claims: { appid: 'cid' } });
  });

  it('checks audience, expiry and not-before against the clock', () => {
    const { tokens, clock } = service();
    const issued = tokens.issue({ resource: 'https://vault.azure.net', clientId: 'cid' });
    expect(tokens.verify(issued.token, ARM)).toMatchObject({ ok: false, reason: 'wrong-audience' });
    clock.now = T0 + 3600_000;
    expect(tokens.verify(issued.token, ['https://vault.azure.net'])).toMatchObject({
      ok: false,
      reason: 'expired',
    });
    clock.now = T0 - 301_000;
    expect(tokens.verify(issued.token, ['https://vault.azure.net'])).toMatchObject({
      ok: false,
      reason: 'not-yet-valid',
    });
  });

  it('rejects tampering, other keys, alg none and garbage', () => {
    const { tokens } = service();
    const issued = tokens.issue({ resource: ARM_AUDIENCE, clientId: 'cid' });
    const [h, p, s] = issued.token.split('.') as [string, string, string];
    const forged = b64({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), appid: 'attacker' });
    expect(tokens.verify(`${h}.${forged}.${s}`, ARM)).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(service(undefined, Buffer.alloc(32, 8)).tokens.verify(issued.token, ARM)).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    expect(tokens.verify(`${b64({ alg: 'none' })}.${p}.`, ARM)).toMatchObject({
      ok: false,
      reason: 'unsupported-algorithm',
    });
    for (const bad of ['', 'a.b', 'a.b.c.d', '!!!.x.y', `${h}.${p}`]) {
      expect(tokens.verify(bad, ARM).ok).toBe(false);
    }
    // A correctly signed token whose claims lack fields is still refused.
    const body = b64({ aud: ARM_AUDIENCE });
    const sig = createHmac('sha256', Buffer.alloc(32, 7)).update(`${h}.${body}`).digest('base64url');
    expect(tokens.verify(`${h}.${body}.${sig}`, ARM)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('refuses a nonsensical lifetime', () => {
    expect(() => createTokenService({ now: () => T0, lifetimeSeconds: 0 })).toThrow(TokenServiceError);
  });
});
