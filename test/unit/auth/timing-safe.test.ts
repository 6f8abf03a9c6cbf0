import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkTimestamp,
  constantTimeEqual,
  decodeBase64Strict,
  decodeHexStrict,
  encodeBase64,
  encodeHex,
  parseEpochSeconds,
} from '../../../src/auth/timing-safe.js';

describe('byte helpers', () => {
  it('compares bytes, including different lengths, without throwing', () => {
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
  });

  it('round-trips base64 and hex for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        expect(decodeBase64Strict(encodeBase64(bytes))).toEqual(bytes);
        expect(decodeHexStrict(encodeHex(bytes))).toEqual(bytes);
      }),
    );
  });

  it('refuses non-canonical base64', () => {
    for (const text of ['QQ', 'QQ=', 'QR==', 'Q Q==', 'QQ==\n', '-_8=', 'QQ==QQ==', 'Q===']) {
      expect(decodeBase64Strict(text)).toBeUndefined();
    }
    expect(decodeBase64Strict('QQ==')).toEqual(new Uint8Array([65]));
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        decodeBase64Strict(text);
        decodeHexStrict(text);
        parseEpochSeconds(text);
      }),
    );
  });

  it('parses epoch seconds strictly', () => {
    expect(parseEpochSeconds('1614265330')).toBe(1614265330);
    for (const text of ['', '+1', '1.0', '1e3', ' 1', '0x1', '1234567890123']) {
      expect(parseEpochSeconds(text)).toBeUndefined();
    }
  });

  it('classifies timestamps against the tolerance', () => {
    expect(checkTimestamp(1000, 1_300_000, 300)).toEqual({ ok: true, ageSeconds: 300 });
    expect(checkTimestamp(1000, 1_301_000, 300)).toMatchObject({ ok: false, reason: 'stale-timestamp' });
    expect(checkTimestamp(1000, 700_000, 300)).toEqual({ ok: true, ageSeconds: -300 });
    expect(checkTimestamp(1000, 699_000, 300)).toMatchObject({ ok: false, reason: 'future-timestamp' });
  });
});
