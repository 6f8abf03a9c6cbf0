import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../../src/store/canonical-json.js';
import { hashedKey, int64, isSeqRowKey, readInt, seqRowKey } from '../../../src/store/keys.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined }], c: null }, e: undefined })).toBe(
      '{"a":{"c":null,"d":[3,{"z":1}]},"b":1}',
    );
  });

  it('keeps array order and writes undefined array items as null, like JSON.stringify', () => {
    expect(canonicalJson([3, undefined, 1])).toBe('[3,null,1]');
  });

  it('escapes strings exactly like JSON', () => {
    expect(canonicalJson({ 'k"\n': 'v\u2028\u0000é' })).toBe(JSON.stringify({ 'k"\n': 'v\u2028\u0000é' }));
  });

  it('refuses values JSON cannot represent faithfully', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => canonicalJson(loop)).toThrow(TypeError);
  });

  it('is independent of property insertion order and parses back to the same value', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (value) => {
        const reversed = Object.fromEntries(Object.entries(value).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(value));
        expect(canonicalJson(JSON.parse(canonicalJson(value)))).toBe(canonicalJson(value));
      }),
    );
  });

  it('hashes with SHA-256 over UTF-8', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('table keys', () => {
  it('derives legal, fixed-length keys from any input', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const key = hashedKey('k', a, b);
        expect(key).toMatch(/^k[0-9a-f]{64}$/);
      }),
    );
    expect(hashedKey('k', 'a:b', 'c')).not.toBe(hashedKey('k', 'a', 'b:c'));
  });

  it('pads sequence numbers so string order is chain order', () => {
    expect(seqRowKey(7)).toBe('0000000007');
    expect(seqRowKey(9) < seqRowKey(10)).toBe(true);
    expect(isSeqRowKey('0000000007')).toBe(true);
    expect(isSeqRowKey('head')).toBe(false);
    expect(isSeqRowKey('000000007')).toBe(false);
  });

  it('writes epoch milliseconds as Int64 and reads every numeric shape back', () => {
    expect(int64(1_735_732_800_000)).toEqual({ value: '1735732800000', type: 'Int64' });
    expect(readInt(1_735_732_800_000n)).toBe(1_735_732_800_000);
    expect(readInt(42)).toBe(42);
    expect(readInt('42')).toBe(42);
    expect(readInt('x')).toBeUndefined();
  });
});
