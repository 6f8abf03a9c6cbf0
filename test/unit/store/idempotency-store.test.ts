import { describe, expect, it } from 'vitest';
import { judgeClaim } from '../../../src/store/idempotency-store.js';

/** What a claim row met after a failed insert says, whichever table and partition it was met in. */

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
const owned = { fingerprint: 'fp-1', requestId: 'req-new' };

function row(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    fingerprint: 'fp-1',
    requestId: 'req-old',
    etag: 'W/"1"',
    expiresAt: NOW + 60_000,
    attempts: 1,
    ...fields,
  };
}

function completed(body: string): Record<string, unknown> {
  return row({
    state: 'completed',
    answerRequestId: 'req-old',
    responseBodyChunks: 1,
    responseBody0: Buffer.from(body, 'utf8'),
  });
}

describe('judgeClaim', () => {
  it.each([
    [
      'in flight, its lease running',
      row({ state: 'in-flight', leaseUntil: NOW + 2_500 }),
      { kind: 'in-flight', retryAfterSeconds: 3, requestId: 'req-old' },
    ],
    [
      'queued, its lease running',
      row({ state: 'queued', leaseUntil: NOW + 1 }),
      { kind: 'queued', requestId: 'req-old' },
    ],
    ['another payload', row({ state: 'released', fingerprint: 'fp-2' }), { kind: 'mismatch' }],
    ['given back', row({ state: 'released' }), { kind: 'take', etag: 'W/"1"', attempts: 2 }],
    [
      'in flight, its holder gone',
      row({ state: 'in-flight', leaseUntil: NOW - 1, attempts: 3 }),
      { kind: 'take', etag: 'W/"1"', attempts: 4 },
    ],
    [
      'queued past its hold',
      row({ state: 'queued', leaseUntil: NOW - 1 }),
      { kind: 'take', etag: 'W/"1"', attempts: 2 },
    ],
    [
      'expired, another payload',
      row({ state: 'completed', fingerprint: 'fp-2', expiresAt: NOW }),
      { kind: 'take', etag: 'W/"1"', attempts: 2 },
    ],
    [
      'our own write, resent',
      row({ state: 'in-flight', requestId: 'req-new', leaseUntil: NOW + 1 }),
      { kind: 'own', etag: 'W/"1"' },
    ],
  ])('%s', (_name, existing, expected) => {
    expect(judgeClaim(existing, owned, NOW)).toEqual(expected);
  });

  it('a completed claim answers with its stored answer', () => {
    const judged = judgeClaim(completed('{"id":"req-old","outcome":"approved"}'), owned, NOW);
    expect(judged).toEqual({
      kind: 'replay',
      answer: { requestId: 'req-old', response: { id: 'req-old', outcome: 'approved' } },
    });
  });

  it('a completed claim whose answer cannot be read back is taken over, not replayed', () => {
    expect(judgeClaim(completed('{not json'), owned, NOW)).toEqual({
      kind: 'take',
      etag: 'W/"1"',
      attempts: 2,
    });
  });

  it('a row without an ETag cannot be judged: look again', () => {
    expect(judgeClaim(row({ state: 'released', etag: undefined }), owned, NOW)).toBeUndefined();
  });
});
