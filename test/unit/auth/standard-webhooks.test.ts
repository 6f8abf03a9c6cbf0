import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidSecretError } from '../../../src/auth/auth-error.js';
import {
  signStandardWebhook,
  standardWebhookHeaders,
  verifyStandardWebhook,
  type StandardWebhookInput,
} from '../../../src/auth/standard-webhooks.js';

interface Vector {
  secret: string;
  webhook_id: string;
  webhook_timestamp: string;
  body: string;
  webhook_signature: string;
}

const vectors = JSON.parse(
  readFileSync(new URL('../../fixtures/signature-vectors.json', import.meta.url), 'utf8'),
) as { standard_webhooks_v1: Vector };
const vector = vectors.standard_webhooks_v1;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const nowAt = (seconds: number): number => seconds * 1000;
const vectorNow = nowAt(Number(vector.webhook_timestamp));
const otherSecret = 'whsec_' + Buffer.alloc(32, 7).toString('base64');

function input(overrides: Partial<StandardWebhookInput> = {}): StandardWebhookInput {
  return {
    body: utf8(vector.body),
    webhookId: vector.webhook_id,
    webhookTimestamp: vector.webhook_timestamp,
    webhookSignature: vector.webhook_signature,
    secrets: [vector.secret],
    now: vectorNow,
    ...overrides,
  };
}

describe('verifyStandardWebhook', () => {
  it('accepts the published reference vector', () => {
    expect(verifyStandardWebhook(input())).toEqual({
      ok: true,
      secretIndex: 0,
      webhookId: vector.webhook_id,
      timestamp: 1614265330,
    });
  });

  it('signs the published vector to the published signature', () => {
    expect(
      signStandardWebhook({
        secret: vector.secret,
        webhookId: vector.webhook_id,
        timestamp: Number(vector.webhook_timestamp),
        body: vector.body,
      }),
    ).toBe(vector.webhook_signature);
  });

  it('accepts a secret without the whsec_ prefix (bare base64, as the reference libraries do)', () => {
    expect(verifyStandardWebhook(input({ secrets: [vector.secret.slice('whsec_'.length)] })).ok).toBe(true);
  });

  it('accepts a signature within the tolerance either side', () => {
    expect(verifyStandardWebhook(input({ now: vectorNow + 300_000 })).ok).toBe(true);
    expect(verifyStandardWebhook(input({ now: vectorNow - 300_000 })).ok).toBe(true);
  });

  it.each([
    ['webhook-id', { webhookId: null }],
    ['webhook-timestamp', { webhookTimestamp: undefined }],
    ['webhook-signature', { webhookSignature: '' }],
  ] as const)('refuses a request without %s', (name, overrides) => {
    const result = verifyStandardWebhook(input(overrides));
    expect(result).toMatchObject({ ok: false, reason: 'missing-header' });
    expect(!result.ok && result.message).toContain(name);
  });

  it.each([
    ['abc'],
    ['-1614265330'],
    ['1614265330.5'],
    [' 1614265330'],
    ['1e9'],
    ['0x60380e32'],
    ['9'.repeat(13)],
  ])('refuses a non-numeric or out-of-range timestamp %j', (timestamp) => {
    expect(verifyStandardWebhook(input({ webhookTimestamp: timestamp }))).toMatchObject({
      ok: false,
      reason: 'invalid-timestamp',
    });
  });

  it('refuses a stale timestamp, even with a valid signature', () => {
    expect(verifyStandardWebhook(input({ now: vectorNow + 301_000 }))).toMatchObject({
      ok: false,
      reason: 'stale-timestamp',
    });
  });

  it('refuses a timestamp from the future', () => {
    expect(verifyStandardWebhook(input({ now: vectorNow - 301_000 }))).toMatchObject({
      ok: false,
      reason: 'future-timestamp',
    });
  });

  it('honours a configured tolerance', () => {
    expect(verifyStandardWebhook(input({ now: vectorNow + 61_000, toleranceSeconds: 60 }))).toMatchObject({
      ok: false,
      reason: 'stale-timestamp',
    });
  });

  it('refuses a tampered body', () => {
    expect(verifyStandardWebhook(input({ body: utf8('{"test": 2432232315}') }))).toMatchObject({
      ok: false,
      reason: 'no-matching-signature',
    });
  });

  it('refuses a tampered id or timestamp (they are part of the signed content)', () => {
    expect(verifyStandardWebhook(input({ webhookId: 'msg_other' }))).toMatchObject({
      reason: 'no-matching-signature',
    });
    expect(verifyStandardWebhook(input({ webhookTimestamp: '1614265331' }))).toMatchObject({
      reason: 'no-matching-signature',
    });
  });

  it('refuses the wrong secret', () => {
    const result = verifyStandardWebhook(input({ secrets: [otherSecret] }));
    expect(result).toMatchObject({ ok: false, reason: 'no-matching-signature' });
    expect(JSON.stringify(result)).not.toContain(otherSecret.slice(6));
  });

  /** The published message signed with another secret: a signature that does not match. */
  const signedByOther = (): string =>
    signStandardWebhook({
      secret: otherSecret,
      webhookId: vector.webhook_id,
      timestamp: 1614265330,
      body: vector.body,
    });

  it('accepts when the second of several signatures matches', () => {
    const wrong = signedByOther();
    expect(
      verifyStandardWebhook(input({ webhookSignature: `${wrong} ${vector.webhook_signature}` })),
    ).toMatchObject({
      ok: true,
    });
  });

  it('reads entries sent as header lines of their own, which arrive joined by a comma', () => {
    const wrong = signedByOther();
    for (const joined of [`${wrong},${vector.webhook_signature}`, `${wrong}, ${vector.webhook_signature}`]) {
      expect(verifyStandardWebhook(input({ webhookSignature: joined })).ok).toBe(true);
    }
    // Only a comma that starts another `v<n>,` entry separates: one inside an entry is still malformed.
    expect(
      verifyStandardWebhook(input({ webhookSignature: `${wrong},x${vector.webhook_signature}` })).ok,
    ).toBe(false);
  });

  it('ignores other signature versions and malformed entries when a v1 entry matches', () => {
    const header = `v1a,AAAA v2,${vector.webhook_signature.slice(3)} nonsense v1,%%% ${vector.webhook_signature}`;
    expect(verifyStandardWebhook(input({ webhookSignature: header })).ok).toBe(true);
  });

  it('with two secrets during a rotation, either verifies and the index says which', () => {
    expect(verifyStandardWebhook(input({ secrets: [otherSecret, vector.secret] }))).toMatchObject({
      ok: true,
      secretIndex: 1,
    });
    expect(verifyStandardWebhook(input({ secrets: [vector.secret, otherSecret] }))).toMatchObject({
      ok: true,
      secretIndex: 0,
    });
  });

  it.each([
    ['no v1 entry', 'v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='],
    ['no comma', 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='],
    ['bad base64', 'v1,not*base64'],
    ['unpadded base64', 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE'],
    ['url-safe alphabet', 'v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE='],
    ['wrong length', 'v1,AAAA'],
    ['only spaces', '   '],
  ])('reports a malformed signature header (%s)', (_label, header) => {
    expect(verifyStandardWebhook(input({ webhookSignature: header }))).toMatchObject({
      ok: false,
      reason: 'malformed-signature',
    });
  });

  it('refuses a webhook-id with control characters or excessive length', () => {
    expect(verifyStandardWebhook(input({ webhookId: 'msg\n1' }))).toMatchObject({
      reason: 'malformed-header',
    });
    expect(verifyStandardWebhook(input({ webhookId: 'm'.repeat(257) }))).toMatchObject({
      reason: 'malformed-header',
    });
  });

  it("refuses a webhook-id holding '.', the separator of the signed parts, even when the signature matches", () => {
    const webhookId = 'msg.1614265330';
    const webhookSignature = signStandardWebhook({
      secret: vector.secret,
      webhookId,
      timestamp: Number(vector.webhook_timestamp),
      body: vector.body,
    });
    expect(verifyStandardWebhook(input({ webhookId, webhookSignature }))).toMatchObject({
      ok: false,
      reason: 'malformed-header',
    });
  });

  it('throws InvalidSecretError for a misconfigured secret, without echoing it', () => {
    expect(() => verifyStandardWebhook(input({ secrets: ['whsec_not base64!'] }))).toThrow(
      InvalidSecretError,
    );
    expect(() => verifyStandardWebhook(input({ secrets: [] }))).toThrow(InvalidSecretError);
    const thrown = (() => {
      try {
        verifyStandardWebhook(input({ secrets: ['whsec_sekrit!!', 'whsec_again!!'] }));
      } catch (error) {
        return error as Error;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(InvalidSecretError);
    expect(thrown?.message).toContain('#0');
    expect(thrown?.message).not.toContain('sekrit');
  });

  it("refuses a key shorter than the spec's 24 bytes or longer than its 64, even when it signed the request", () => {
    const signedWith = (key: Buffer): string => {
      const mac = createHmac('sha256', key);
      mac.update(`${vector.webhook_id}.${vector.webhook_timestamp}.${vector.body}`);
      return `v1,${mac.digest('base64')}`;
    };
    for (const bytes of [16, 23, 65]) {
      const key = Buffer.alloc(bytes, 3);
      const secrets = [`whsec_${key.toString('base64')}`];
      const attempt = () => verifyStandardWebhook(input({ secrets, webhookSignature: signedWith(key) }));
      expect(attempt).toThrow(InvalidSecretError);
      expect(attempt).toThrow(`decodes to ${bytes} bytes`);
    }
    for (const bytes of [24, 64]) {
      const key = Buffer.alloc(bytes, 3);
      const secrets = [`whsec_${key.toString('base64')}`];
      expect(verifyStandardWebhook(input({ secrets, webhookSignature: signedWith(key) })).ok).toBe(true);
    }
  });

  it('leaves out a version that is not a valid key, so the others keep verifying during a rotation', () => {
    // A new version stored with a stray newline: the current one still verifies, at its own position.
    const stored = [`${vector.secret}\n`, vector.secret];
    expect(verifyStandardWebhook(input({ secrets: stored }))).toMatchObject({ ok: true, secretIndex: 1 });
    const forged = verifyStandardWebhook(
      input({ secrets: stored, webhookSignature: `v1,${'A'.repeat(43)}=` }),
    );
    expect(forged).toMatchObject({ ok: false, reason: 'no-matching-signature', unusableSecrets: [0] });
    expect(JSON.stringify(forged)).not.toContain(vector.secret);
  });

  it('never throws on arbitrary header values', () => {
    fc.assert(
      fc.property(
        fc.option(fc.string()),
        fc.option(fc.oneof(fc.string(), fc.constant(vector.webhook_timestamp))),
        fc.option(
          fc.oneof(
            fc.string(),
            fc.base64String().map((b) => `v1,${b} v1,${b}`),
          ),
        ),
        (webhookId, webhookTimestamp, webhookSignature) => {
          const result = verifyStandardWebhook(input({ webhookId, webhookTimestamp, webhookSignature }));
          expect(result.ok).toBe(false);
        },
      ),
    );
  });

  it('round-trips the headers helper', () => {
    const headers = standardWebhookHeaders({
      secret: otherSecret,
      webhookId: 'msg_1',
      timestamp: 1_700_000_000,
      body: utf8('{"a":1}'),
    });
    expect(
      verifyStandardWebhook({
        body: utf8('{"a":1}'),
        webhookId: headers['webhook-id'],
        webhookTimestamp: headers['webhook-timestamp'],
        webhookSignature: headers['webhook-signature'],
        secrets: [otherSecret],
        now: nowAt(1_700_000_000),
      }),
    ).toMatchObject({ ok: true, webhookId: 'msg_1', timestamp: 1_700_000_000 });
  });

  it('refuses non-integer timestamps when signing', () => {
    expect(() =>
      signStandardWebhook({ secret: otherSecret, webhookId: 'x', timestamp: 1.5, body: '' }),
    ).toThrow(RangeError);
  });
});
