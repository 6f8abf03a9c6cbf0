import { describe, expect, it } from 'vitest';
import { checkEnvelope, checkRead } from '../../../src/http/envelope.js';
import type { RouteRequest } from '../../../src/http/route-types.js';

/** `Prefer: respond-async` (RFC 7240) as the approval routes read it from the request envelope. */

function request(headers: Record<string, string>, path = '/api/approvals'): RouteRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method: 'POST',
    url: new URL(path, 'https://approver.example'),
    header: (name) => lower[name.toLowerCase()],
    body: new TextEncoder().encode('{}'),
    bodyTooLarge: false,
    params: {},
  };
}

const JSON_TYPE = { 'content-type': 'application/json' };

function respondAsync(prefer: string | undefined): boolean {
  const headers = prefer === undefined ? JSON_TYPE : { ...JSON_TYPE, prefer };
  return checkEnvelope(request(headers), 'json', ['dryRun']).respondAsync;
}

describe('Prefer: respond-async', () => {
  it('is off without a Prefer header', () => {
    expect(respondAsync(undefined)).toBe(false);
  });

  it.each([
    'respond-async',
    'Respond-Async',
    'RESPOND-ASYNC',
    '  respond-async  ',
    'respond-async, wait=10',
    'wait=10, respond-async',
    'return=minimal,respond-async',
    'respond-async; foo=bar',
    'respond-async ;foo="bar, baz"',
  ])('is on for %j', (prefer) => {
    expect(respondAsync(prefer)).toBe(true);
  });

  it.each([
    '',
    'return=minimal',
    'wait=10',
    'respond-asynchronously',
    'x-respond-async',
    'respond_async',
    'foo; respond-async',
    'wait=10; respond-async',
  ])('is off for %j (only a preference named respond-async counts, not a parameter)', (prefer) => {
    expect(respondAsync(prefer)).toBe(false);
  });

  it('is read beside dryRun and the Idempotency-Key, which it leaves as they are', () => {
    const envelope = checkEnvelope(
      request(
        { ...JSON_TYPE, prefer: 'respond-async', 'idempotency-key': 'k-1' },
        '/api/approvals?dryRun=true',
      ),
      'json',
      ['dryRun'],
    );
    expect(envelope).toEqual({ dryRun: true, respondAsync: true, idempotencyKey: 'k-1' });
    expect(checkEnvelope(request(JSON_TYPE), 'json', ['dryRun'])).toEqual({
      dryRun: false,
      respondAsync: false,
    });
  });

  it('is read on form routes (Slack) too', () => {
    const envelope = checkEnvelope(
      request({ 'content-type': 'application/x-www-form-urlencoded', prefer: 'respond-async' }),
      'form',
      ['dryRun'],
    );
    expect(envelope.respondAsync).toBe(true);
  });
});

describe('Idempotency-Key', () => {
  const keyOf = (value: string): string | undefined =>
    checkEnvelope(request({ ...JSON_TYPE, 'idempotency-key': value }), 'json', ['dryRun']).idempotencyKey;

  it.each([
    ['"8e03978e-40d5-43e8-bc93-6894a57f9324"', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
    ['8e03978e-40d5-43e8-bc93-6894a57f9324', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
    ['"order 42"', 'order 42'],
    ['"a\\"b\\\\c"', 'a"b\\c'],
    [' k-1 ', 'k-1'],
    [`"${'x'.repeat(255)}"`, 'x'.repeat(255)],
  ])('takes %j as the key %j (an sf-string is its content)', (value, key) => {
    expect(keyOf(value)).toBe(key);
  });

  it.each(['', '""', '"a","b"', 'a,b', 'a b', '"unterminated', '"bad \\x escape"', 'x'.repeat(256), '"é"'])(
    'refuses %j with a 400 problem',
    (value) => {
      expect(() => keyOf(value)).toThrow(/Idempotency-Key header must be one key/);
    },
  );
});

describe('a read (GET or HEAD)', () => {
  const read = (headers: Record<string, string>, body = new Uint8Array(0)): RouteRequest => ({
    ...request(headers, '/api/approvals/0b7e1c2a-7c1e-4f7a-9d3e-1a2b3c4d5e6f'),
    method: 'GET',
    body,
  });

  it('takes no body and no declared length', () => {
    expect(() => checkRead(read({}))).not.toThrow();
    expect(() => checkRead(read({ 'content-length': '0' }))).not.toThrow();
  });

  it('is refused with a body, or with a length declared for one the Functions library dropped', () => {
    expect(() => checkRead(read({}, new TextEncoder().encode('{}')))).toThrow('takes no body');
    expect(() => checkRead(read({ 'content-length': '57' }))).toThrow('takes no body');
  });
});
