import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidSecretError } from '../../../src/auth/auth-error.js';
import {
  signSlack,
  verifySlackSignature,
  type SlackSignatureInput,
} from '../../../src/auth/slack-signature.js';

interface Vector {
  signing_secret: string;
  x_slack_request_timestamp: string;
  body: string;
  x_slack_signature: string;
}

const vector = (
  JSON.parse(readFileSync(new URL('../../fixtures/signature-vectors.json', import.meta.url), 'utf8')) as {
    slack_v0: Vector;
  }
).slack_v0;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const vectorNow = Number(vector.x_slack_request_timestamp) * 1000;

function input(overrides: Partial<SlackSignatureInput> = {}): SlackSignatureInput {
  return {
    body: utf8(vector.body),
    signature: vector.x_slack_signature,
    timestamp: vector.x_slack_request_timestamp,
    signingSecrets: [vector.signing_secret],
    now: vectorNow,
    ...overrides,
  };
}

describe('verifySlackSignature', () => {
  it("accepts Slack's published example", () => {
    expect(verifySlackSignature(input())).toEqual({ ok: true, secretIndex: 0, timestamp: 1531420618 });
  });

  it("signs Slack's published example to the published signature", () => {
    expect(
      signSlack({
        signingSecret: vector.signing_secret,
        timestamp: Number(vector.x_slack_request_timestamp),
        body: vector.body,
      }),
    ).toBe(vector.x_slack_signature);
  });

  it('accepts upper-case hex', () => {
    expect(
      verifySlackSignature(input({ signature: 'v0=' + vector.x_slack_signature.slice(3).toUpperCase() })).ok,
    ).toBe(true);
  });

  it('refuses missing headers', () => {
    expect(verifySlackSignature(input({ signature: null }))).toMatchObject({
      ok: false,
      reason: 'missing-header',
    });
    expect(verifySlackSignature(input({ timestamp: '' }))).toMatchObject({
      ok: false,
      reason: 'missing-header',
    });
    expect(verifySlackSignature(input({ timestamp: undefined }))).toMatchObject({
      ok: false,
      reason: 'missing-header',
    });
  });

  it.each([['soon'], ['1531420618.0'], ['-1'], [' 1531420618'], ['1e9']])(
    'refuses timestamp %j',
    (timestamp) => {
      expect(verifySlackSignature(input({ timestamp }))).toMatchObject({
        ok: false,
        reason: 'invalid-timestamp',
      });
    },
  );

  it('never throws on arbitrary header values or bodies', () => {
    fc.assert(
      fc.property(
        fc.option(fc.string()),
        fc.option(fc.oneof(fc.string(), fc.integer().map(String))),
        fc.uint8Array({ maxLength: 64 }),
        (signature, timestamp, body) => {
          expect(verifySlackSignature(input({ signature, timestamp, body })).ok).toBe(false);
        },
      ),
    );
  });

  it('refuses a timestamp more than five minutes old or ahead, and accepts exactly five minutes', () => {
    expect(verifySlackSignature(input({ now: vectorNow + 301_000 }))).toMatchObject({
      reason: 'stale-timestamp',
    });
    expect(verifySlackSignature(input({ now: vectorNow - 301_000 }))).toMatchObject({
      reason: 'future-timestamp',
    });
    expect(verifySlackSignature(input({ now: vectorNow + 300_999 })).ok).toBe(true);
    expect(verifySlackSignature(input({ now: vectorNow - 300_000 })).ok).toBe(true);
  });

  it.each([
    ['missing v0=', vector.x_slack_signature.slice(3)],
    ['other version', 'v1=' + vector.x_slack_signature.slice(3)],
    ['not hex', 'v0=' + 'z'.repeat(64)],
    ['odd length', 'v0=' + 'a'.repeat(63)],
    ['short', 'v0=abcd'],
  ])('reports a malformed signature (%s)', (_label, signature) => {
    expect(verifySlackSignature(input({ signature }))).toMatchObject({
      ok: false,
      reason: 'malformed-signature',
    });
  });

  it('refuses a tampered body or timestamp', () => {
    expect(verifySlackSignature(input({ body: utf8(vector.body + '&x=1') }))).toMatchObject({
      reason: 'no-matching-signature',
    });
    expect(verifySlackSignature(input({ timestamp: '1531420619' }))).toMatchObject({
      reason: 'no-matching-signature',
    });
  });

  it('refuses the wrong secret', () => {
    expect(
      verifySlackSignature(input({ signingSecrets: ['0123456789abcdef0123456789abcdef'] })),
    ).toMatchObject({
      ok: false,
      reason: 'no-matching-signature',
    });
  });

  it('with two secrets during a rotation, either verifies', () => {
    expect(
      verifySlackSignature(input({ signingSecrets: ['old-secret', vector.signing_secret] })),
    ).toMatchObject({
      ok: true,
      secretIndex: 1,
    });
  });

  it('throws InvalidSecretError for an empty secret list or empty secret', () => {
    expect(() => verifySlackSignature(input({ signingSecrets: [] }))).toThrow(InvalidSecretError);
    expect(() => verifySlackSignature(input({ signingSecrets: [''] }))).toThrow(InvalidSecretError);
  });
});
