import { describe, expect, it } from 'vitest';
import { isUsableAt, selectUsableVersions } from '../../../src/secrets/select-versions.js';
import type { VersionInfo } from '../../../src/secrets/select-versions.js';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const at = (offsetSeconds: number): Date => new Date(NOW + offsetSeconds * 1000);

const v = (version: string, extra: Omit<VersionInfo, 'version'> = {}): VersionInfo => ({
  version,
  enabled: true,
  createdOn: at(-100),
  ...extra,
});

describe('isUsableAt', () => {
  it('accepts an enabled version without dates', () => {
    expect(isUsableAt({ enabled: true }, NOW)).toBe(true);
  });

  it("refuses a disabled version; a missing enabled flag is Key Vault's default, enabled", () => {
    expect(isUsableAt({ enabled: false }, NOW)).toBe(false);
    expect(isUsableAt({}, NOW)).toBe(true);
  });

  it('honours nbf inclusively: usable from the very millisecond it starts', () => {
    expect(isUsableAt({ enabled: true, notBefore: at(0) }, NOW)).toBe(true);
    expect(isUsableAt({ enabled: true, notBefore: new Date(NOW + 1) }, NOW)).toBe(false);
  });

  it('honours exp exclusively: no longer usable at the expiry instant', () => {
    expect(isUsableAt({ enabled: true, expiresOn: at(0) }, NOW)).toBe(false);
    expect(isUsableAt({ enabled: true, expiresOn: new Date(NOW + 1) }, NOW)).toBe(true);
  });
});

describe('selectUsableVersions', () => {
  it('keeps enabled (or not said otherwise), currently valid versions only', () => {
    const versions = [
      v('a'),
      v('b', { enabled: false }),
      v('c', { notBefore: at(60) }),
      v('d', { expiresOn: at(-1) }),
      v('e', { notBefore: at(-60), expiresOn: at(60) }),
      v('f', { enabled: undefined }),
    ];
    expect(
      selectUsableVersions(versions, NOW)
        .map((x) => x.version)
        .sort(),
    ).toEqual(['a', 'e', 'f']);
  });

  it('orders newest first by createdOn whatever order the list came in', () => {
    const versions = [
      v('old', { createdOn: at(-300) }),
      v('newest', { createdOn: at(-10) }),
      v('middle', { createdOn: at(-100) }),
    ];
    expect(selectUsableVersions(versions, NOW).map((x) => x.version)).toEqual(['newest', 'middle', 'old']);
  });

  it('breaks createdOn ties by version id and puts versions without createdOn last', () => {
    const versions = [
      v('zz', { createdOn: at(-10) }),
      v('none', { createdOn: undefined }),
      v('aa', { createdOn: at(-10) }),
      v('newer', { createdOn: at(-5) }),
      v('also-none', { createdOn: undefined }),
    ];
    expect(selectUsableVersions(versions, NOW).map((x) => x.version)).toEqual([
      'newer',
      'aa',
      'zz',
      'also-none',
      'none',
    ]);
  });

  it('returns nothing when nothing is usable, and does not modify its input', () => {
    const versions = [v('b', { enabled: false }), v('a', { expiresOn: at(-1) })];
    const copy = [...versions];
    expect(selectUsableVersions(versions, NOW)).toEqual([]);
    expect(versions).toEqual(copy);
  });

  it('keeps the extra fields of the input items', () => {
    const versions = [{ ...v('a'), value: 'x' }];
    expect(selectUsableVersions(versions, NOW)[0]?.value).toBe('x');
  });
});
