import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidSecretError } from '../../../src/auth/auth-error.js';
import {
  signTeams,
  verifyTeamsSignature,
  type TeamsSignatureInput,
} from '../../../src/auth/teams-signature.js';

interface Vector {
  security_token: string;
  body: string;
  authorization: string;
}

const vector = (
  JSON.parse(readFileSync(new URL('../../fixtures/signature-vectors.json', import.meta.url), 'utf8')) as {
    teams_outgoing_webhook: Vector;
  }
).teams_outgoing_webhook;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const otherToken = Buffer.alloc(32, 9).toString('base64');

function input(overrides: Partial<TeamsSignatureInput> = {}): TeamsSignatureInput {
  return {
    body: utf8(vector.body),
    authorization: vector.authorization,
    securityTokens: [vector.security_token],
    ...overrides,
  };
}

describe('verifyTeamsSignature', () => {
  it('accepts the computed vector', () => {
    expect(verifyTeamsSignature(input())).toEqual({ ok: true, secretIndex: 0 });
  });

  it('signs the vector to the expected Authorization value', () => {
    expect(signTeams({ securityToken: vector.security_token, body: vector.body })).toBe(vector.authorization);
    expect(signTeams({ securityToken: vector.security_token, body: utf8(vector.body) })).toBe(
      vector.authorization,
    );
  });

  it('accepts the scheme in any case', () => {
    expect(
      verifyTeamsSignature(input({ authorization: vector.authorization.replace('HMAC', 'hmac') })).ok,
    ).toBe(true);
  });

  it.each([[null], [undefined], ['']])('refuses a missing Authorization header (%j)', (authorization) => {
    expect(verifyTeamsSignature(input({ authorization }))).toMatchObject({
      ok: false,
      reason: 'missing-header',
    });
  });

  it.each([
    ['another scheme', 'Bearer eyJ0eXAiOiJKV1QifQ'],
    ['no value', 'HMAC '],
    ['no space', 'HMACu4mqRgrbVIFC3vtz7CZ6l6p1FlBrMrWdHGNjdU5ux2o='],
    ['bad base64', 'HMAC u4mq#grbVIFC3vtz7CZ6l6p1FlBrMrWdHGNjdU5ux2o='],
    ['wrong length', 'HMAC AAAA'],
    ['trailing junk', `${'HMAC u4mqRgrbVIFC3vtz7CZ6l6p1FlBrMrWdHGNjdU5ux2o='} extra`],
  ])('refuses a malformed header (%s)', (_label, authorization) => {
    expect(verifyTeamsSignature(input({ authorization }))).toMatchObject({
      ok: false,
      reason: 'malformed-header',
    });
  });

  it('refuses a tampered body', () => {
    expect(verifyTeamsSignature(input({ body: utf8(vector.body.replace('hello', 'hellO')) }))).toMatchObject({
      ok: false,
      reason: 'no-matching-signature',
    });
  });

  it('refuses the wrong security token', () => {
    expect(verifyTeamsSignature(input({ securityTokens: [otherToken] }))).toMatchObject({
      ok: false,
      reason: 'no-matching-signature',
    });
  });

  it('with two tokens during a rotation, either verifies', () => {
    expect(verifyTeamsSignature(input({ securityTokens: [otherToken, vector.security_token] }))).toEqual({
      ok: true,
      secretIndex: 1,
    });
    const signedWithOther = signTeams({ securityToken: otherToken, body: vector.body });
    expect(
      verifyTeamsSignature(
        input({ authorization: signedWithOther, securityTokens: [otherToken, vector.security_token] }),
      ),
    ).toEqual({ ok: true, secretIndex: 0 });
  });

  it('never throws on arbitrary header values or bodies', () => {
    fc.assert(
      fc.property(
        fc.option(
          fc.oneof(
            fc.string(),
            fc.base64String().map((b) => `HMAC ${b}`),
          ),
        ),
        (authorization) => {
          expect(verifyTeamsSignature(input({ authorization })).ok).toBe(false);
        },
      ),
    );
  });

  it('throws InvalidSecretError for a token that is not base64, or for none', () => {
    expect(() => verifyTeamsSignature(input({ securityTokens: ['not base64'] }))).toThrow(InvalidSecretError);
    expect(() => verifyTeamsSignature(input({ securityTokens: [] }))).toThrow(InvalidSecretError);
  });

  it('leaves out a token that is not base64, so the others keep verifying during a rotation', () => {
    const stored = ['not base64', vector.security_token];
    expect(verifyTeamsSignature(input({ securityTokens: stored }))).toEqual({ ok: true, secretIndex: 1 });
    expect(verifyTeamsSignature(input({ securityTokens: ['not base64', otherToken] }))).toMatchObject({
      ok: false,
      reason: 'no-matching-signature',
      unusableSecrets: [0],
    });
  });
});
